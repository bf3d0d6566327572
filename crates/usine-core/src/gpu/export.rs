//! Saving a job's chart or samples as a file the person chose: the app proposes a place (their
//! Downloads folder) that they can change before anything is written, and the CLI takes the
//! path it is given. Nothing is overwritten without being asked for.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{chart, series};
use crate::jobs::history;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "ExportFormat")]
pub enum Format {
    Png,
    Svg,
    Csv,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
            Format::Csv => "csv",
        }
    }
}

impl FromStr for Format {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            "csv" => Ok(Format::Csv),
            _ => Err(ExportError::Format(s.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{}", crate::tr!(
        en: "This job has no samples yet: there is nothing to save. Try again once it has run for a minute.",
        fr: "Ce job n'a pas encore de relevés : il n'y a rien à enregistrer. Réessayez quand il aura tourné une minute."
    ))]
    NoSamples,
    #[error("{}", crate::tr!(
        en: "{} already exists. Choose another name, or delete that file first.",
        fr: "{} existe déjà. Choisissez un autre nom, ou supprimez d'abord ce fichier.",
        .0.display()
    ))]
    Exists(PathBuf),
    #[error("{}", crate::tr!(
        en: "{} could not be written ({}). Check that the folder exists, is yours, and has free space.",
        fr: "{} n'a pas pu être écrit ({}). Vérifiez que le dossier existe, vous appartient et a de la place.",
        .0.display(), .1
    ))]
    Write(PathBuf, String),
    #[error("{}", crate::tr!(
        en: "Usine saves charts as png or svg and samples as csv, not {}.",
        fr: "Usine enregistre les graphiques en png ou svg et les relevés en csv, pas en {}.",
        .0
    ))]
    Format(String),
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the app proposes to save: the Downloads folder (else the home), named after the job.
pub fn suggested_path(store: &Store, job: &str, format: Format) -> Result<PathBuf, ExportError> {
    let entry = history::get(store, job)?;
    let dir = directories::UserDirs::new()
        .and_then(|d| {
            d.download_dir()
                .map(Path::to_path_buf)
                .or_else(|| Some(d.home_dir().to_path_buf()))
        })
        .unwrap_or_else(|| PathBuf::from("."));
    let safe: String = entry
        .spec
        .name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let number = entry.scheduler_id.as_deref().unwrap_or(&entry.id);
    Ok(dir.join(format!("{safe}-{number}-gpu.{}", format.extension())))
}

/// Writes the job's chart (png, svg) or samples (csv) to `path` (`~` is the home); an existing
/// file is left alone. Returns the path written.
pub fn write(
    store: &Store,
    job: &str,
    format: Format,
    path: &Path,
) -> Result<PathBuf, ExportError> {
    let entry = history::get(store, job)?;
    let path = crate::local_paths::expand(path);
    let bytes = match format {
        Format::Csv => {
            let gpus = series::samples(store, &entry.id)?;
            let processors = series::processor_samples(store, &entry.id)?;
            if gpus.is_empty() && processors.is_empty() {
                return Err(ExportError::NoSamples);
            }
            series::to_csv(&gpus, &processors).into_bytes()
        }
        Format::Png | Format::Svg => {
            let curves = series::load(store, &entry.id, 800)?;
            if curves.is_empty() {
                return Err(ExportError::NoSamples);
            }
            match format {
                Format::Png => chart::png(&curves, &entry.spec.name, 1600, 900)?,
                _ => chart::svg(&curves, &entry.spec.name, 1200, 700)?.into_bytes(),
            }
        }
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => ExportError::Exists(path.clone()),
            _ => ExportError::Write(path.clone(), e.to_string()),
        })?;
    std::io::Write::write_all(&mut file, &bytes).map_err(|e| {
        // Half a file is worse than none.
        let _ = std::fs::remove_file(&path);
        ExportError::Write(path.clone(), e.to_string())
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::parse::GpuSample;

    fn store_with_job(tag: &str) -> (Store, PathBuf) {
        let dir = std::env::temp_dir().join(format!("usine-export-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::open(&dir.join("db.sqlite3")).unwrap();
        store
            .db
            .execute(
                "INSERT INTO jobs(id, target, spec, script, state, scheduler_id)
                 VALUES ('j', 'lab', '{\"name\":\"my run/1\"}', '', '\"running\"', '42')",
                [],
            )
            .unwrap();
        let samples: Vec<GpuSample> = (0..10)
            .map(|i| GpuSample {
                node: "n1".into(),
                gpu: 0,
                time_ms: i * 10_000,
                utilization: Some(50.0),
                memory_used_mib: Some(1000.0),
                memory_total_mib: Some(80_000.0),
                power_watts: None,
                temperature_c: None,
            })
            .collect();
        series::save(&mut store, "j", &samples).unwrap();
        (store, dir)
    }

    #[test]
    fn the_chart_goes_where_asked_and_nothing_is_overwritten() {
        let (store, dir) = store_with_job("write");
        let suggested = suggested_path(&store, "j", Format::Png).unwrap();
        assert_eq!(
            suggested.file_name().unwrap().to_string_lossy(),
            "my-run-1-42-gpu.png"
        );
        let path = dir.join("chart.png");
        assert_eq!(write(&store, "j", Format::Png, &path).unwrap(), path);
        assert_eq!(&std::fs::read(&path).unwrap()[1..4], b"PNG");
        std::fs::write(&path, "mine").unwrap();
        assert!(matches!(
            write(&store, "j", Format::Png, &path),
            Err(ExportError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        let csv = dir.join("samples.csv");
        write(&store, "j", Format::Csv, &csv).unwrap();
        assert!(std::fs::read_to_string(&csv).unwrap().lines().count() > 10);
        assert!(matches!(
            write(&store, "j", Format::Svg, &dir.join("no/such/folder.svg")),
            Err(ExportError::Write(..))
        ));
        assert!("pdf".parse::<Format>().is_err());
    }
}
