//! Charts of a job's GPU use with `plotters`: utilization and memory per GPU over time (and, for
//! a job on this computer, its share of the CPUs and memory). SVG for
//! the app (the WebView draws the text with its own fonts) and PNG for export. A font is built
//! in, so nothing depends on the system's fonts.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::series::{Device, Series};

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

#[derive(Debug, thiserror::Error)]
#[error("{}", crate::tr!(
        en: "the chart could not be drawn: {}",
        fr: "le graphique n'a pas pu être dessiné : {}",
        .0
    ))]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

fn font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
                .map_err(|_| "the built-in font is unreadable".to_owned())
        })
        .clone()
        .map_err(ChartError)
}

const COLORS: [RGBColor; 8] = [
    RGBColor(29, 78, 216),
    RGBColor(220, 38, 38),
    RGBColor(22, 163, 74),
    RGBColor(217, 119, 6),
    RGBColor(147, 51, 234),
    RGBColor(8, 145, 178),
    RGBColor(219, 39, 119),
    RGBColor(75, 85, 99),
];

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    series: &[Series],
    title: &str,
) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let start = series
        .iter()
        .filter_map(|s| s.points.first().map(|p| p.0))
        .min()
        .unwrap_or(0);
    let end = series
        .iter()
        .filter_map(|s| s.points.last().map(|p| p.0))
        .max()
        .unwrap_or(start);
    let span_min = ((end - start) as f64 / 60_000.0).max(1.0);
    let (since, scale) = if span_min > 180.0 {
        (
            crate::tr!(en: "hours since the first sample", fr: "heures depuis le premier relevé"),
            60.0,
        )
    } else {
        (
            crate::tr!(en: "minutes since the first sample", fr: "minutes depuis le premier relevé"),
            1.0,
        )
    };
    let x_max = span_min / scale;
    let memory_in_gib = memory_in_gib(series);
    // A job's few GiB would sit near 0 on a scale of this computer's whole memory.
    let memory_max = if memory_in_gib {
        let most = series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| s.memory_gib(p.2?)))
            .fold(0f32, f32::max);
        f64::from((most * 1.2).max(1.0))
    } else {
        100.0
    };
    let root = root.titled(title, ("sans-serif", 20)).map_err(err)?;
    let panels = root.split_evenly((2, 1));
    for (panel, (label, pick)) in panels
        .iter()
        .zip(panel_labels(series).into_iter().zip([0, 1]))
    {
        let gib = pick == 1 && memory_in_gib;
        let y_max = if pick == 1 { memory_max } else { 100.0 };
        let mut chart = ChartBuilder::on(panel)
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(err)?;
        // Tick labels in the language's notation (0,5 in French), as precise as the axis needs.
        let x_digits = if x_max < 5.0 { 1 } else { 0 };
        let y_digits = if y_max < 5.0 { 1 } else { 0 };
        chart
            .configure_mesh()
            .x_label_formatter(&|v| crate::lang::number(*v, x_digits))
            .y_label_formatter(&|v| crate::lang::number(*v, y_digits))
            .y_desc(label)
            .x_desc(since.as_str())
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let points = s.points.iter().filter_map(|p| {
                let v = match (pick, gib) {
                    (0, _) => p.1?,
                    (_, false) => p.2?,
                    (_, true) => s.memory_gib(p.2?)?,
                };
                Some(((p.0 - start) as f64 / 60_000.0 / scale, f64::from(v)))
            });
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(err)?
                .label(legend(s))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        if pick == 0 && !series.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Whether the memory panel shows GiB: a job here without GPU curves, whose total is known.
fn memory_in_gib(series: &[Series]) -> bool {
    !series.is_empty()
        && series
            .iter()
            .all(|s| s.device == Device::Processors && s.memory_total_mib.is_some())
}

/// The two panels' axis words: what the curves are the use of.
fn panel_labels(series: &[Series]) -> [String; 2] {
    let gpus = series.iter().any(|s| matches!(s.device, Device::Gpu(_)));
    let processors = series.iter().any(|s| s.device == Device::Processors);
    match (gpus, processors) {
        (false, true) if memory_in_gib(series) => [
            crate::tr!(en: "CPUs busy (%)", fr: "processeurs occupés (%)"),
            crate::tr!(en: "memory used (GiB)", fr: "mémoire utilisée (Gio)"),
        ],
        (false, true) => [
            crate::tr!(en: "CPUs busy (%)", fr: "processeurs occupés (%)"),
            crate::tr!(en: "memory used (% of this computer)", fr: "mémoire utilisée (% de cet ordinateur)"),
        ],
        (true, true) => [
            crate::tr!(en: "busy (%)", fr: "occupé (%)"),
            crate::tr!(en: "memory used (%)", fr: "mémoire utilisée (%)"),
        ],
        _ => [
            crate::tr!(en: "GPU busy (%)", fr: "GPU occupé (%)"),
            crate::tr!(en: "GPU memory used (%)", fr: "mémoire GPU utilisée (%)"),
        ],
    }
}

fn legend(s: &Series) -> String {
    match s.device {
        Device::Gpu(g) => format!("{} GPU {g}", s.node),
        Device::Processors => crate::tr!(en: "{} CPUs", fr: "{} processeurs", s.node),
    }
}

/// A tiny chart without axes: the GPUs' mean utilization over time (Home's running jobs), or
/// the CPUs' for a job without GPU curves.
pub fn sparkline_svg(series: &[Series], width: u32, height: u32) -> Result<String, ChartError> {
    let mut buckets: std::collections::BTreeMap<i64, (f32, u32)> =
        std::collections::BTreeMap::new();
    let any_gpu = series.iter().any(|s| matches!(s.device, Device::Gpu(_)));
    for s in series
        .iter()
        .filter(|s| any_gpu != (s.device == Device::Processors))
    {
        for &(t, util, _) in &s.points {
            if let Some(u) = util {
                let e = buckets.entry(t).or_default();
                e.0 += u;
                e.1 += 1;
            }
        }
    }
    let points: Vec<(i64, f64)> = buckets
        .into_iter()
        .map(|(t, (sum, n))| (t, f64::from(sum / n as f32)))
        .collect();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let (first, last) = (
            points.first().map_or(0, |p| p.0),
            points.last().map_or(1, |p| p.0),
        );
        let mut chart = ChartBuilder::on(&root)
            .margin(2)
            .build_cartesian_2d(first as f64..(last.max(first + 1)) as f64, 0f64..100f64)
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(t, u)| (t as f64, u)),
                COLORS[0].stroke_width(2),
            ))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// The chart as an SVG document.
pub fn svg(series: &[Series], title: &str, width: u32, height: u32) -> Result<String, ChartError> {
    font()?;
    let mut out = String::new();
    draw(
        SVGBackend::with_string(&mut out, (width, height)).into_drawing_area(),
        series,
        title,
    )?;
    Ok(out)
}

/// The chart as a PNG image.
pub fn png(series: &[Series], title: &str, width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    font()?;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    draw(
        BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area(),
        series,
        title,
    )?;
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_gpus() -> Vec<Series> {
        (0..2)
            .map(|g| Series {
                node: "gpu-node".into(),
                device: Device::Gpu(g),
                points: (0..120)
                    .map(|i| {
                        (
                            i * 5000,
                            Some((i % 50) as f32 + g as f32 * 40.0),
                            Some(50.0),
                        )
                    })
                    .collect(),
                memory_total_mib: Some(81_559.0),
            })
            .collect()
    }

    #[test]
    fn the_svg_has_both_panels_every_series_and_its_axes() {
        let out = svg(&two_gpus(), "Job 42", 900, 500).unwrap();
        assert!(out.starts_with("<svg"));
        for text in [
            "Job 42",
            "GPU busy (%)",
            "GPU memory used (%)",
            "gpu-node GPU 0",
            "gpu-node GPU 1",
            "minutes since the first sample",
        ] {
            assert!(out.contains(text), "{text} missing");
        }
        // One curve per GPU per panel, in its colour (axes are thin, legend marks short).
        let curves = |colour: &str| {
            out.lines()
                .filter(|l| l.starts_with("<polyline") && l.contains(colour))
                .filter(|l| l.contains("stroke-width=\"2\"") && l.matches(',').count() > 100)
                .count()
        };
        assert_eq!((curves("#1D4ED8"), curves("#DC2626")), (2, 2), "{out}");
    }

    #[test]
    fn a_png_is_a_real_image_of_the_asked_size() {
        let bytes = png(&two_gpus(), "Job 42", 640, 360).unwrap();
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (640, 360));
    }

    #[test]
    fn a_sparkline_is_one_mean_curve_without_text() {
        let out = sparkline_svg(&two_gpus(), 160, 32).unwrap();
        assert_eq!(out.matches("<polyline").count(), 1, "{out}");
        assert!(!out.contains("<text"));
    }

    #[test]
    fn no_samples_still_draws_empty_axes() {
        let out = svg(&[], "Waiting for the first samples", 600, 400).unwrap();
        assert!(
            out.contains("Waiting for the first samples") && !out.contains("stroke-width=\"2\"")
        );
    }

    #[test]
    fn a_job_here_without_gpus_is_drawn_as_cpus_and_memory() {
        // 10 % of 32 GiB: 3.2 GiB, drawn on a 0–3.84 GiB axis.
        let here = vec![Series {
            node: "laptop".into(),
            device: Device::Processors,
            points: (0..60)
                .map(|i| (i * 1000, Some(25.0), Some(10.0)))
                .collect(),
            memory_total_mib: Some(32_768.0),
        }];
        let out = svg(&here, "Local job", 900, 500).unwrap();
        for text in ["CPUs busy (%)", "memory used (GiB)", "laptop CPUs"] {
            assert!(out.contains(text), "{text} missing");
        }
        // Tick labels are on their own lines: the memory axis reaches 3.5, only busy reaches 100.
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.contains(&"3.5") && !lines.contains(&"4.0"), "{out}");
        assert_eq!(lines.iter().filter(|l| **l == "100").count(), 1, "{out}");
        assert!(!out.contains("GPU"), "{out}");
        // In French, the same ticks with a decimal comma.
        let fr =
            crate::lang::with(crate::lang::Lang::Fr, || svg(&here, "Calcul", 900, 500)).unwrap();
        let lines: Vec<&str> = fr.lines().collect();
        assert!(lines.contains(&"3,5") && !lines.contains(&"3.5"), "{fr}");
        assert_eq!(
            sparkline_svg(&here, 160, 32)
                .unwrap()
                .matches("<polyline")
                .count(),
            1
        );
        let mut both = two_gpus();
        both.extend(here);
        let out = svg(&both, "Local job", 900, 500).unwrap();
        // The axis words are on their own line in plotters' SVG.
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.contains(&"busy (%)") && lines.contains(&"memory used (%)"),
            "{out}"
        );
        assert!(
            lines.contains(&"gpu-node GPU 1") && lines.contains(&"laptop CPUs"),
            "{out}"
        );
    }
}
