//! GPU samples from the tools' own formats: `nvidia-smi --query-gpu … --format=csv` (with or
//! without header and units; `[N/A]`, `[Not Supported]` and the like are missing values),
//! `rocm-smi --json` (values are strings; key names differ across ROCm versions),
//! `amd-smi metric --json` (its successor), and the recorder's log that interleaves them with
//! timestamps. Garbage is skipped and counted.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// One GPU at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GpuSample {
    /// Milliseconds since the Unix epoch (the node's clock).
    #[ts(type = "number")]
    pub time_ms: i64,
    pub node: String,
    pub gpu: u32,
    /// Busy share of the GPU, 0–100.
    pub utilization: Option<f32>,
    pub memory_used_mib: Option<f32>,
    pub memory_total_mib: Option<f32>,
    pub power_watts: Option<f32>,
    pub temperature_c: Option<f32>,
}

impl GpuSample {
    pub fn memory_percent(&self) -> Option<f32> {
        match (self.memory_used_mib, self.memory_total_mib) {
            (Some(u), Some(t)) if t > 0.0 => Some(u / t * 100.0),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub samples: Vec<GpuSample>,
    /// Lines (or cards) that could not be read.
    pub skipped: usize,
    /// The recorder found no GPU tool (nvidia-smi, rocm-smi, amd-smi) on the node.
    pub no_tool: bool,
}

/// What the job's recorder writes when the node has no GPU tool to ask (see `sbatch`).
pub const NO_GPU_TOOL: &str = "usine: no GPU tool";

/// The fields the recorder asks `nvidia-smi` for, in order (its output has no header).
pub const RECORDER_FIELDS: &str =
    "timestamp,index,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu";

/// `65`, `65 %`, `28.16 W`, `46068 MiB`, `[N/A]`, `[Not Supported]` → a number or nothing.
fn number(text: &str) -> Option<f32> {
    let t = text.trim();
    if t.starts_with('[') || t.is_empty() || t.eq_ignore_ascii_case("n/a") {
        return None;
    }
    t.split_whitespace().next()?.parse().ok()
}

/// `2026/11/28 17:30:05.594` (nvidia-smi's format) → ms since the epoch, read as UTC.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    let (date, time) = t.split_once(' ')?;
    let d: Vec<i64> = date
        .split(['/', '-'])
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [y, m, day] = d[..] else { return None };
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let h: Vec<i64> = hms
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [hh, mm, ss] = h[..] else { return None };
    // Milliseconds from the first three digits; by characters, so that a stray multi-byte
    // character there is a bad line, not a slice through a character (a panic).
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = format!("{:0<3}", frac.chars().take(3).collect::<String>())
        .parse()
        .ok()?;
    // A year out of this range is not a sample's (and would overflow the sums below).
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || hh > 23
        || mm > 59
        || ss > 60
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
}

/// A header name without its unit: `memory.used [MiB]` → `memory.used`.
fn field_name(header: &str) -> String {
    header
        .split('[')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]`. Without a header, `fields`
/// says what was asked for (comma-separated, as on the command line). Rows without a timestamp
/// get `now_ms`; rows without an index are numbered in order.
pub fn nvidia_smi_csv(text: &str, fields: Option<&str>, node: &str, now_ms: i64) -> Parsed {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    // A header names query fields (`utilization.gpu [%]`); data rows never do.
    let is_header = |line: &str| {
        line.split(',').map(field_name).any(|f| {
            f.contains('.')
                && f.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                || matches!(
                    f.as_str(),
                    "timestamp" | "index" | "name" | "uuid" | "count"
                )
        })
    };
    let header: Vec<String> = match lines.peek() {
        Some(first) if is_header(first) => {
            let h = first.split(',').map(field_name).collect();
            lines.next();
            h
        }
        _ => fields
            .unwrap_or(RECORDER_FIELDS)
            .split(',')
            .map(field_name)
            .collect(),
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let (ts, idx, util, used, total, power, temp) = (
        col("timestamp"),
        col("index"),
        col("utilization.gpu"),
        col("memory.used"),
        col("memory.total"),
        col("power.draw")
            .or(col("power.draw.average"))
            .or(col("power.draw.instant")),
        col("temperature.gpu"),
    );
    let mut out = Parsed::default();
    for (row, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            out.skipped += 1;
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|i| number(cells[i]));
        let time_ms = match ts {
            Some(i) => match parse_timestamp(cells[i]) {
                Some(t) => t,
                None => {
                    out.skipped += 1;
                    continue;
                }
            },
            None => now_ms,
        };
        let gpu = match idx {
            Some(i) => match cells[i].parse() {
                Ok(g) => g,
                Err(_) => {
                    out.skipped += 1;
                    continue;
                }
            },
            None => row as u32,
        };
        out.samples.push(GpuSample {
            time_ms,
            node: node.to_owned(),
            gpu,
            utilization: get(util),
            memory_used_mib: get(used),
            memory_total_mib: get(total),
            power_watts: get(power),
            temperature_c: get(temp),
        });
    }
    out
}

fn first_number(card: &serde_json::Map<String, Value>, keys: &[&str]) -> Option<f32> {
    keys.iter().find_map(|k| match card.get(*k)? {
        Value::String(s) => number(s),
        Value::Number(n) => n.as_f64().map(|f| f as f32),
        _ => None,
    })
}

/// `rocm-smi … --json`: one object per `cardN`; other keys (`system`) are ignored.
pub fn rocm_smi_json(text: &str, node: &str, time_ms: i64) -> Parsed {
    let mut out = Parsed::default();
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(text) else {
        out.skipped += 1;
        return out;
    };
    for (key, card) in &root {
        let Some(index) = key.strip_prefix("card").and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Value::Object(card) = card else {
            out.skipped += 1;
            continue;
        };
        const MIB: f32 = 1024.0 * 1024.0;
        let total = first_number(card, &["VRAM Total Memory (B)"]).map(|b| b / MIB);
        let used = first_number(card, &["VRAM Total Used Memory (B)"])
            .map(|b| b / MIB)
            .or_else(|| {
                let percent = first_number(
                    card,
                    &["GPU Memory Allocated (VRAM%)", "GPU memory use (%)"],
                )?;
                total.map(|t| t * percent / 100.0)
            });
        out.samples.push(GpuSample {
            time_ms,
            node: node.to_owned(),
            gpu: index,
            utilization: first_number(card, &["GPU use (%)"]),
            memory_used_mib: used,
            memory_total_mib: total,
            power_watts: first_number(
                card,
                &[
                    "Average Graphics Package Power (W)",
                    "Current Socket Graphics Package Power (W)",
                ],
            ),
            temperature_c: first_number(
                card,
                &[
                    "Temperature (Sensor edge) (C)",
                    "Temperature (Sensor junction) (C)",
                ],
            ),
        });
        if out
            .samples
            .last()
            .is_some_and(|s| s.utilization.is_none() && s.memory_used_mib.is_none())
        {
            // A card with none of the figures is not a sample.
            out.samples.pop();
            out.skipped += 1;
        }
    }
    out
}

/// A value of `amd-smi … --json`: `{"value": 42, "unit": "%"}` (ROCm 6.1 on), a bare number,
/// or `"N/A"`; memory in `MB`/`GB` (which amd-smi means as MiB/GiB) or `B`, turned into MiB.
fn amd_value(v: &Value) -> Option<f32> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| f as f32),
        Value::String(s) => number(s),
        Value::Object(o) => {
            let value = amd_value(o.get("value")?)?;
            Some(match o.get("unit").and_then(Value::as_str) {
                Some("GB") => value * 1024.0,
                Some("B") => value / (1024.0 * 1024.0),
                Some("KB") => value / 1024.0,
                _ => value,
            })
        }
        _ => None,
    }
}

/// `amd-smi metric --usage --mem-usage --power --temperature --json`: a list of GPUs (ROCm
/// 6.1–6.3) or the same list under `gpu_data` (ROCm 6.4 on). Per GPU: `usage.gfx_activity`,
/// `mem_usage.used_vram`/`total_vram`, `power.socket_power`, `temperature.hotspot` (the
/// die's hottest point; `edge` where there is none: MI300 reports no edge).
pub fn amd_smi_json(text: &str, node: &str, time_ms: i64) -> Parsed {
    let mut out = Parsed::default();
    let gpus = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(list)) => list,
        Ok(Value::Object(mut root)) => match root.remove("gpu_data") {
            Some(Value::Array(list)) => list,
            _ => {
                out.skipped += 1;
                return out;
            }
        },
        _ => {
            out.skipped += 1;
            return out;
        }
    };
    for gpu in &gpus {
        let at = |path: &[&str]| {
            path.iter()
                .try_fold(gpu, |v, key| v.get(*key))
                .and_then(amd_value)
        };
        let Some(index) = gpu.get("gpu").and_then(Value::as_u64) else {
            out.skipped += 1;
            continue;
        };
        let sample = GpuSample {
            time_ms,
            node: node.to_owned(),
            gpu: index as u32,
            utilization: at(&["usage", "gfx_activity"]),
            memory_used_mib: at(&["mem_usage", "used_vram"]),
            memory_total_mib: at(&["mem_usage", "total_vram"]),
            power_watts: at(&["power", "socket_power"]),
            temperature_c: at(&["temperature", "hotspot"]).or_else(|| at(&["temperature", "edge"])),
        };
        if sample.utilization.is_none() && sample.memory_used_mib.is_none() {
            // A GPU with none of the figures is not a sample.
            out.skipped += 1;
        } else {
            out.samples.push(sample);
        }
    }
    out
}

/// The recorder's log: `nvidia-smi` CSV rows (RECORDER_FIELDS), or `EPOCH_SECONDS {json}` lines
/// from `rocm-smi`. Only whole lines are read: a half-written last line is left for next time.
pub fn recorder_log(text: &str, node: &str) -> Parsed {
    let mut out = Parsed::default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return out,
    };
    for line in complete.lines().filter(|l| !l.trim().is_empty()) {
        if line.trim() == NO_GPU_TOOL {
            out.no_tool = true;
            continue;
        }
        let parsed = match line.split_once(' ') {
            Some((epoch, json)) if json.trim_start().starts_with(['{', '[']) => match epoch
                .parse::<f64>()
            {
                // rocm-smi answers with `cardN` keys; amd-smi with a list, or `gpu_data`.
                Ok(s) if json.contains("\"card") => rocm_smi_json(json, node, (s * 1000.0) as i64),
                Ok(s) => amd_smi_json(json, node, (s * 1000.0) as i64),
                Err(_) => Parsed {
                    skipped: 1,
                    ..Parsed::default()
                },
            },
            _ => nvidia_smi_csv(line, Some(RECORDER_FIELDS), node, 0),
        };
        out.samples.extend(parsed.samples);
        out.skipped += parsed.skipped;
    }
    out
}

/// Slurm's own GPU accounting (`gres/gpuutil`, `gres/gpumem`), where a site records it: lines of
/// `sstat -n -P --allsteps --format=JobID,TRESUsageInAve` (or `sacct -pno JobID,TRESUsageInMax`).
/// Slurm sums a task's GPUs up (a task on 4 busy GPUs has `gres/gpuutil=400`), so each step
/// with GPU use becomes one sample named after it, of the average GPU among the
/// `gpus_per_task` the step's tasks see (utilization and memory divided by them).
pub fn slurm_gpu_tres(text: &str, time_ms: i64, gpus_per_task: u32) -> Parsed {
    let per_gpu = |v: f32| v / gpus_per_task.max(1) as f32;
    let mut out = Parsed::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((step, tres)) = line.split_once('|') else {
            out.skipped += 1;
            continue;
        };
        let fields: std::collections::BTreeMap<&str, &str> = tres
            .trim_end_matches('|')
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let util = fields
            .get("gres/gpuutil")
            .and_then(|v| v.parse::<f32>().ok());
        // gpumem carries a unit suffix (K, M, G, T); without one (`--noconvert`) it is bytes.
        let mem = fields.get("gres/gpumem").and_then(|v| {
            let (num, unit) = v.split_at(
                v.find(|c: char| !c.is_ascii_digit() && c != '.')
                    .unwrap_or(v.len()),
            );
            let n: f32 = num.parse().ok()?;
            Some(match unit {
                "" => n / (1024.0 * 1024.0),
                "K" => n / 1024.0,
                "M" => n,
                "G" => n * 1024.0,
                "T" => n * 1024.0 * 1024.0,
                _ => return None,
            })
        });
        if util.is_none() && mem.is_none() {
            continue; // a step without GPU accounting, or the allocation's own line
        }
        if util == Some(0.0) && mem == Some(0.0) && step.ends_with(".extern") {
            continue; // the extern step never uses the GPUs
        }
        out.samples.push(GpuSample {
            time_ms,
            node: step.to_owned(),
            gpu: 0,
            utilization: util.map(per_gpu),
            memory_used_mib: mem.map(per_gpu),
            memory_total_mib: None,
            power_watts: None,
            temperature_c: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/samples/gpu/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn timestamps_as_nvidia_smi_prints_them() {
        assert_eq!(parse_timestamp("1970/01/01 00:00:01.5"), Some(1500));
        assert_eq!(
            parse_timestamp("2026/11/28 17:30:05.594"),
            Some(1_795_887_005_594)
        );
        assert_eq!(parse_timestamp("2026/13/28 17:30:05"), None);
        assert_eq!(parse_timestamp("garbage"), None);
    }

    #[test]
    fn h100_with_header_units_and_every_field() {
        let p = nvidia_smi_csv(
            &sample("nvidia-smi-h100x1-allfields-load.csv"),
            None,
            "n1",
            0,
        );
        assert_eq!((p.samples.len(), p.skipped), (1, 0));
        let s = &p.samples[0];
        assert!(s.utilization.is_some_and(|u| u > 50.0), "{s:?}");
        assert!(s.memory_total_mib.is_some_and(|m| m > 80_000.0), "{s:?}");
        assert!(
            s.power_watts.is_some() && s.temperature_c.is_some(),
            "{s:?}"
        );
        assert!(s.time_ms > 1_600_000_000_000);
    }

    #[test]
    fn p100_without_units_and_with_not_available_values() {
        let p = nvidia_smi_csv(&sample("nvidia-smi-p100x1-nounits.csv"), None, "n1", 42);
        assert_eq!(p.samples.len(), 1);
        let s = &p.samples[0];
        assert_eq!(
            (s.time_ms, s.gpu, s.utilization, s.memory_used_mib),
            (42, 0, Some(0.0), Some(0.0))
        );
        assert_eq!((s.power_watts, s.temperature_c), (Some(28.16), Some(37.0)));
    }

    #[test]
    fn four_l40s_without_header_numbered_in_order() {
        let p = nvidia_smi_csv(
            &sample("nvidia-smi-l40sx4-noheader-name-driver-memtotal-cc.csv"),
            Some("name,driver_version,memory.total,compute_cap"),
            "n1",
            7,
        );
        let gpus: Vec<u32> = p.samples.iter().map(|s| s.gpu).collect();
        assert_eq!(gpus, [0, 1, 2, 3]);
        assert!(
            p.samples
                .iter()
                .all(|s| s.memory_total_mib == Some(46068.0) && s.utilization.is_none())
        );
    }

    #[test]
    fn rocm_smi_json_from_rocm_6_mi250_and_mi100() {
        let mi250 = rocm_smi_json(&sample("rocm-smi-mi250-rocm6-allinfo-1card.json"), "n1", 5);
        assert_eq!(mi250.samples.len(), 1);
        assert_eq!(
            (mi250.samples[0].utilization, mi250.samples[0].power_watts),
            (Some(0.0), Some(91.0))
        );
        assert_eq!(mi250.samples[0].temperature_c, Some(43.0));
        let mi100 = rocm_smi_json(&sample("rocm-smi-mi100-rocm6.0.2-allinfo.json"), "n1", 5);
        assert_eq!(mi100.samples.len(), 4);
        let m = &mi100.samples[0];
        assert!(
            (m.memory_total_mib.unwrap() - 32_752.0).abs() < 1.0,
            "{m:?}"
        );
        assert!(m.memory_used_mib.unwrap() < 10.0);
    }

    #[test]
    fn amd_smi_json_old_list_and_new_gpu_data_shapes() {
        // ROCm 6.4+ (`gpu_data`), two MI300X: no edge sensor, memory in MB, one GPU unreadable.
        let new = amd_smi_json(&sample("amd-smi-metric-gpu_data-2gpu.json"), "n1", 9);
        assert_eq!(new.samples.len(), 2, "{new:?}");
        assert_eq!(new.skipped, 1);
        let g1 = &new.samples[1];
        assert_eq!(
            (g1.gpu, g1.utilization, g1.power_watts),
            (1, Some(97.0), Some(731.0))
        );
        assert_eq!(
            (g1.memory_used_mib, g1.memory_total_mib),
            (Some(150_218.0), Some(196_592.0))
        );
        assert_eq!(g1.temperature_c, Some(78.0));
        // ROCm 6.1–6.3: a bare list; a workstation GPU with an edge sensor and "N/A" power.
        let old = amd_smi_json(&sample("amd-smi-metric-list-1gpu.json"), "n2", 9);
        assert_eq!(old.samples.len(), 1);
        let g0 = &old.samples[0];
        assert_eq!(
            (g0.utilization, g0.power_watts, g0.temperature_c),
            (Some(42.0), None, Some(51.0))
        );
        assert!((g0.memory_percent().unwrap() - 12.5).abs() < 0.01);
        // Garbage is counted, never a crash.
        assert_eq!(amd_smi_json("{\"gpu_data\": 3}", "n", 0).skipped, 1);
        assert_eq!(
            amd_smi_json("amd-smi: command not found", "n", 0).skipped,
            1
        );
        // In the recorder's log, amd-smi lines sit next to rocm-smi ones.
        let log = format!(
            "1764351005 {}\n",
            sample("amd-smi-metric-gpu_data-2gpu.json").replace('\n', "")
        );
        let parsed = recorder_log(&log, "n1");
        assert_eq!(parsed.samples.len(), 2);
        assert_eq!(parsed.samples[0].time_ms, 1_764_351_005_000);
    }

    #[test]
    fn the_recorder_log_with_garbage_and_a_half_written_line() {
        let log = "2026/11/28 17:30:05.594, 0, 65, 57161, 81559, 479.15, 57\n\
                   2026/11/28 17:30:05.594, 1, [N/A], 74188, 81559, [Not Supported], 69\n\
                   Failed to initialize NVML: Driver/library version mismatch\n\
                   1795887015 {\"card0\": {\"GPU use (%)\": \"97\", \"VRAM Total Memory (B)\": \"68702699520\", \"VRAM Total Used Memory (B)\": \"1073741824\"}}\n\
                   2026/11/28 17:30:15.594, 0, 6";
        let p = recorder_log(log, "gpu-node");
        assert_eq!(p.samples.len(), 3);
        assert_eq!(p.skipped, 1);
        assert!(!p.no_tool);
        let none = recorder_log(&format!("{NO_GPU_TOOL}\n"), "cpu-node");
        assert!(none.no_tool && none.samples.is_empty() && none.skipped == 0);
        assert_eq!(
            (p.samples[1].utilization, p.samples[1].power_watts),
            (None, None)
        );
        assert_eq!(
            (p.samples[2].time_ms, p.samples[2].utilization),
            (1_795_887_015_000, Some(97.0))
        );
        assert_eq!(p.samples[2].memory_used_mib, Some(1024.0));
        assert!(p.samples.iter().all(|s| s.node == "gpu-node"));
    }

    #[test]
    fn slurm_accounting_of_gpu_use_where_sites_record_it() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/samples/sacct-pno-TRESUsageInMax-gpuutil-curc-alpine.txt",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let p = slurm_gpu_tres(&text, 9, 1);
        assert_eq!(p.samples.len(), 1, "{p:?}");
        let s = &p.samples[0];
        assert_eq!(
            (s.node.as_str(), s.utilization, s.memory_used_mib),
            ("18194943.batch", Some(100.0), Some(38888.0))
        );
        assert!(
            slurm_gpu_tres("14.batch|cpu=00:00:00,mem=12448K\n", 0, 1)
                .samples
                .is_empty()
        );
        // `sacct --noconvert` prints bytes, without a suffix.
        let bytes = slurm_gpu_tres("15.0|gres/gpumem=2147483648,gres/gpuutil=50|\n", 0, 1);
        assert_eq!(bytes.samples[0].memory_used_mib, Some(2048.0));
        let odd = slurm_gpu_tres("16.0|gres/gpumem=12X,gres/gpuutil=50|\n", 0, 1);
        assert_eq!(
            odd.samples[0].memory_used_mib, None,
            "an unknown unit is no value"
        );
        // A task on 4 GPUs, each 80 % busy with 10 GiB: Slurm says 320 and 40G.
        let four = slurm_gpu_tres("17.0|gres/gpumem=40G,gres/gpuutil=320|\n", 0, 4);
        assert_eq!(
            (four.samples[0].utilization, four.samples[0].memory_used_mib),
            (Some(80.0), Some(10240.0))
        );
        assert_eq!(
            slurm_gpu_tres("17.0|gres/gpuutil=320|\n", 0, 0).samples[0].utilization,
            Some(320.0),
            "no GPU count: as Slurm says"
        );
    }

    proptest::proptest! {
        /// Whatever a node writes (binary junk, half lines, the no-tool marker among them), every
        /// parser returns: bad lines are counted, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), marker in proptest::prelude::any::<bool>()) {
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            if marker {
                text = format!("{text}\n{NO_GPU_TOOL}\n");
            }
            let log = recorder_log(&text, "n");
            proptest::prop_assert!(!marker || log.no_tool);
            let _ = nvidia_smi_csv(&text, None, "n", 0);
            let _ = nvidia_smi_csv(&text, Some(RECORDER_FIELDS), "n", 0);
            let _ = rocm_smi_json(&text, "n", 0);
            let _ = amd_smi_json(&text, "n", 0);
            let _ = slurm_gpu_tres(&text, 0, 4);
            let _ = parse_timestamp(&text);
        }

        /// The shape nvidia-smi writes, with anything after the seconds' dot.
        #[test]
        fn any_fraction_of_a_second_never_panics(frac in "\\PC{0,6}") {
            let _ = parse_timestamp(&format!("2026/11/28 17:30:05.{frac}"));
        }

        #[test]
        fn any_numbers_in_a_timestamp_never_overflow(y in proptest::prelude::any::<i64>(), d in 1i64..=31, h in proptest::prelude::any::<i64>()) {
            let _ = parse_timestamp(&format!("{y}/12/{d} {h}:00:00.000"));
            let _ = parse_timestamp(&format!("{y}-01-01 00:00:00"));
        }
    }

    /// Before: `.é5` in the time field sliced through the `é` and panicked, which ended the app's
    /// tracker, again after every restart (the offset moves only after a parse).
    #[test]
    fn a_multi_byte_character_in_the_time_is_a_bad_line_not_a_panic() {
        assert_eq!(parse_timestamp("2026/11/28 17:30:05.é5"), None);
        assert_eq!(parse_timestamp("2026/11/28 17:30:05.5é"), None);
        let log = "2026/11/28 17:30:05.é5, 0, 65, 57161, 81559, 479.15, 57\n\
                   2026/11/28 17:30:15.594, 0, 66, 57161, 81559, 479.15, 57\n";
        let p = recorder_log(log, "n");
        assert_eq!((p.samples.len(), p.skipped), (1, 1));
    }

    #[test]
    fn hostile_input_never_panics() {
        for junk in [
            "",
            ",,,,,,",
            "\u{0}\u{1}",
            "{",
            "[N/A], [N/A]",
            "1 {\"card0\": 5}",
            "99999999999999999999 {}",
        ] {
            let _ = recorder_log(&format!("{junk}\n"), "n");
            let _ = nvidia_smi_csv(junk, None, "n", 0);
            let _ = rocm_smi_json(junk, "n", 0);
            let _ = slurm_gpu_tres(junk, 0, 4);
        }
    }
}
