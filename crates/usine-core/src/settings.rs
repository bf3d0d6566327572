//! The user's settings, kept in the local store: when a job's GPUs count as idle, and how long
//! GPU samples are kept. Out-of-range values are refused with the allowed range.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{Store, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// A GPU under this share busy counts as idle (per cent).
    pub idle_below_percent: f32,
    /// Warn when every GPU of a job has been idle this long (minutes).
    pub idle_minutes: u32,
    /// GPU samples older than this are deleted (days).
    pub gpu_retention_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            idle_below_percent: 10.0,
            idle_minutes: 30,
            gpu_retention_days: 90,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{}", crate::tr!(
        en: "{} must be between {} and {}.",
        fr: "{} doit être entre {} et {}.",
        .what, .min, .max
    ))]
    OutOfRange { what: String, min: u32, max: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Settings {
    pub fn check(&self) -> Result<(), SettingsError> {
        let range = |what: String, v: f64, min: u32, max: u32| {
            if v.is_finite() && v >= f64::from(min) && v <= f64::from(max) {
                Ok(())
            } else {
                Err(SettingsError::OutOfRange { what, min, max })
            }
        };
        range(
            crate::tr!(en: "The idle threshold (per cent)", fr: "Le seuil d'inactivité (pour cent)"),
            f64::from(self.idle_below_percent),
            1,
            100,
        )?;
        range(
            crate::tr!(en: "The idle time before a warning (minutes)", fr: "La durée d'inactivité avant un avertissement (minutes)"),
            f64::from(self.idle_minutes),
            5,
            1440,
        )?;
        range(
            crate::tr!(en: "How long GPU samples are kept (days)", fr: "La durée de conservation des relevés GPU (jours)"),
            f64::from(self.gpu_retention_days),
            1,
            3650,
        )
    }
}

const KEY: &str = "app";

/// The saved settings, or the defaults (also for anything unreadable: settings never block use).
pub fn load(store: &Store) -> Settings {
    store
        .get_json(Table::Settings, KEY)
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn save(store: &Store, settings: &Settings) -> Result<(), SettingsError> {
    settings.check()?;
    Ok(store.put_json(Table::Settings, KEY, settings)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_saved_values_and_refused_ranges() {
        let dir = std::env::temp_dir().join(format!("usine-settings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir.join("db.sqlite3")).unwrap();
        assert_eq!(load(&store), Settings::default());
        let mine = Settings {
            idle_below_percent: 5.0,
            idle_minutes: 60,
            gpu_retention_days: 30,
        };
        save(&store, &mine).unwrap();
        assert_eq!(load(&store), mine);
        let bad = Settings {
            idle_minutes: 2,
            ..mine.clone()
        };
        let err = save(&store, &bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "The idle time before a warning (minutes) must be between 5 and 1440."
        );
        assert_eq!(
            load(&store),
            mine,
            "a refused change keeps the old settings"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
