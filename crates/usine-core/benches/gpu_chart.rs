//! How long a job's GPU chart takes: 8 GPUs × 24 h at one sample per 5 s (138,240 samples) read
//! back from SQLite downsampled, then drawn as SVG (the app) and PNG (export); and one look at a
//! job on this computer (its process tree's CPU time and memory), against `ps` doing the same.
//! Run: `cargo bench -p usine-core --bench gpu_chart`.

use std::time::{Duration, Instant};

use usine_core::gpu::parse::GpuSample;
use usine_core::gpu::{chart, series};
use usine_core::store::Store;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("usine-bench-chart-{}", std::process::id()));
    let mut store = Store::open(&dir.join("db.sqlite3")).unwrap();
    let samples: Vec<GpuSample> = (0..17_280i64)
        .flat_map(|i| {
            (0..8u32).map(move |g| GpuSample {
                time_ms: i * 5000,
                node: format!("nid00{}", g / 4),
                gpu: g % 4,
                utilization: Some(
                    ((i as f32 / 97.0 + g as f32).sin() * 45.0 + 50.0).clamp(0.0, 100.0),
                ),
                memory_used_mib: Some(40_000.0 + g as f32 * 1000.0),
                memory_total_mib: Some(81_559.0),
                power_watts: Some(400.0),
                temperature_c: Some(60.0),
            })
        })
        .collect();
    let start = Instant::now();
    series::save(&mut store, "job", &samples).unwrap();
    let stored = start.elapsed();

    let (mut load, mut svg, mut png) = (Vec::new(), Vec::new(), Vec::new());
    let mut svg_size = 0;
    for _ in 0..9 {
        let t = Instant::now();
        let curves = series::load(&store, "job", 600).unwrap();
        load.push(t.elapsed());
        let t = Instant::now();
        svg_size = chart::svg(&curves, "8 GPUs × 24 h", 1200, 640)
            .unwrap()
            .len();
        svg.push(t.elapsed());
        let t = Instant::now();
        chart::png(&curves, "8 GPUs × 24 h", 1600, 900).unwrap();
        png.push(t.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "GPU chart of 8 GPUs × 24 h at 5 s ({} samples), medians of 9",
        samples.len()
    );
    println!(
        "  store all samples (one transaction)   {:8.1} ms",
        ms(stored)
    );
    println!(
        "  read back downsampled to ~600 points  {:8.1} ms",
        ms(median(load.clone()))
    );
    println!(
        "  draw SVG 1200×640 ({} KB)             {:8.1} ms",
        svg_size / 1024,
        ms(median(svg.clone()))
    );
    println!(
        "  draw PNG 1600×900                     {:8.1} ms",
        ms(median(png))
    );
    println!(
        "  chart in the app (read + SVG)         {:8.1} ms",
        ms(median(load)) + ms(median(svg))
    );

    // One look at a job here: this bench's own process tree, read as the app reads a job's.
    let (mut tree, mut ps) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        let t = Instant::now();
        let usage = usine_core::jobs::local_usage::of_tree(std::process::id()).unwrap();
        tree.push(t.elapsed());
        assert!(usage.processes >= 1);
        let t = Instant::now();
        let out = std::process::Command::new("ps")
            .args(["-eo", "pid,ppid,time,rss", "--no-headers"])
            .output()
            .unwrap();
        ps.push(t.elapsed());
        assert!(out.status.success());
    }
    let processes = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter(|e| {
                e.as_ref().is_ok_and(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
            })
            .count()
        })
        .unwrap_or(0);
    println!("One look at a job on this computer ({processes} processes running), medians of 9");
    println!(
        "  Usine (sysinfo, whole process tree)   {:8.1} ms",
        ms(median(tree.clone()))
    );
    println!(
        "  ps -eo pid,ppid,time,rss              {:8.1} ms   (Usine / ps = {:.2})",
        ms(median(ps.clone())),
        ms(median(tree)) / ms(median(ps))
    );
    let _ = std::fs::remove_dir_all(dir);
}
