//! Signed updates with `tauri-plugin-updater`. They are on only in builds that carry a public key
//! (`plugins.updater` in the configuration, which the release workflow adds from the
//! maintainers' settings): the plugin refuses any file whose signature that key does not
//! verify, and the signature must name the announced version, so an old release cannot be
//! passed off as a new one. Other builds leave updates to the package manager.
//!
//! The window never talks to the plugin itself (no updater permission is granted): it asks
//! these commands, which keep the update that was found until it is installed.

use std::sync::Mutex;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_updater::{Error, Update, UpdaterExt};
use usine_core::tr;

use crate::error::UiError;
use usine_core::app_events::{AppEvent, AvailableUpdate};
use usine_core::error_kind::ErrorKind;
use usine_core::sync::Locked;

/// Whether this build updates itself.
pub fn configured(config: &tauri::Config) -> bool {
    config.plugins.0.contains_key("updater")
}

/// How long after start the app looks for an update: the window and the user's work first.
const FIRST_CHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// Registers the plugin when the build has an update key (it cannot start without one), and
/// looks for an update once, shortly after start; a failed look is only logged (offline is
/// normal, and Settings can check again).
pub fn init<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    app.manage(Found::default());
    if configured(app.config()) {
        app.plugin(tauri_plugin_updater::Builder::new().build())?;
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(FIRST_CHECK_AFTER).await;
            match look(&app).await {
                Ok(Some(available)) => {
                    let _ = crate::events::send(&app, AppEvent::UpdateAvailable(available));
                }
                Ok(None) => {}
                Err(error) => tracing::info!(%error, "no update check at start"),
            }
        });
    }
    Ok(())
}

/// The update the last check found, ready to install.
#[derive(Default)]
pub struct Found(Mutex<Option<Update>>);

impl Found {
    /// The update found by the last check, taken: installing it twice is not possible.
    fn take(&self) -> Option<Update> {
        self.0.locked().take()
    }

    fn available(&self) -> Option<AvailableUpdate> {
        self.0.locked().as_ref().map(|u| AvailableUpdate {
            version: u.version.clone(),
            notes: u.body.clone(),
        })
    }
}

/// Asks the release server; keeps what it found for `install_update`.
async fn look<R: Runtime>(app: &AppHandle<R>) -> Result<Option<AvailableUpdate>, Error> {
    let update = app.updater()?.check().await?;
    let found = app.state::<Found>();
    *found.0.locked() = update;
    let available = found.available();
    tracing::info!(found = ?available.as_ref().map(|a| &a.version), "update check");
    Ok(available)
}

/// Whether this copy updates itself (a build with the maintainers' update key), and its version.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UpdateStatus {
    /// Whether this copy can update itself.
    enabled: bool,
    current: String,
    /// What an earlier check (the one at start, say) found and is not installed yet.
    found: Option<AvailableUpdate>,
}

/// How far an update's download is.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UpdateDownload {
    #[cfg_attr(test, ts(type = "number"))]
    bytes: u64,
    #[cfg_attr(test, ts(type = "number | null"))]
    total: Option<u64>,
}

#[tauri::command]
pub fn update_status<R: Runtime>(app: AppHandle<R>, found: State<'_, Found>) -> UpdateStatus {
    UpdateStatus {
        enabled: configured(app.config()),
        current: app.package_info().version.to_string(),
        found: found.available(),
    }
}

/// Asks the release server whether a newer Usine exists.
#[tauri::command]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn check_update<R: Runtime>(
    app: AppHandle<R>,
) -> Result<Option<AvailableUpdate>, UiError> {
    if !configured(app.config()) {
        return Err(UiError {
            kind: ErrorKind::Invalid,
            message: tr!(
                en: "This copy of Usine does not update itself: install new versions with your package manager or from the release page.",
                fr: "Cette copie d'Usine ne se met pas à jour elle-même : installez les nouvelles versions avec votre gestionnaire de paquets ou depuis la page des versions."
            ),
        });
    }
    look(&app).await.map_err(plain)
}

fn nothing_to_install() -> UiError {
    UiError {
        kind: ErrorKind::NotFound,
        message: tr!(
            en: "There is no update to install: check for updates first.",
            fr: "Il n'y a pas de mise à jour à installer : cherchez d'abord les mises à jour."
        ),
    }
}

/// Downloads the update found by the last check, verifies its signature, installs it and
/// starts the new version. Reports the download's progress on `progress`.
#[tauri::command]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn install_update<R: Runtime>(
    app: AppHandle<R>,
    found: State<'_, Found>,
    progress: Channel<UpdateDownload>,
) -> Result<(), UiError> {
    let update = found.take().ok_or_else(nothing_to_install)?;
    // A failed update is dropped: trying again starts with a fresh check, which also picks up
    // a release the team has fixed meanwhile.
    download_and_install(&update, &progress)
        .await
        .map_err(plain)?;
    tracing::info!("update installed; restarting");
    app.restart()
}

/// Downloads the update, reporting each chunk on `progress`, checks its signature and installs
/// it.
async fn download_and_install(
    update: &Update,
    progress: &Channel<UpdateDownload>,
) -> Result<(), Error> {
    let mut bytes = 0u64;
    update
        .download_and_install(
            |chunk, total| {
                bytes += chunk as u64;
                let _ = progress.send(UpdateDownload { bytes, total });
            },
            || tracing::info!(version = %update.version, "update downloaded and verified"),
        )
        .await
}

/// The plugin's errors in plain words, each with what to do next.
fn plain(error: Error) -> UiError {
    tracing::warn!(%error, "update failed");
    let message = match &error {
        Error::Minisign(_)
        | Error::Base64(_)
        | Error::SignatureUtf8(_)
        | Error::SignedVersionMismatch { .. }
        | Error::MissingSignedVersion => tr!(
            en: "The update was refused: its signature does not match Usine's key, so it may not come from the Usine team. Nothing was installed. Please tell the Usine team.",
            fr: "La mise à jour a été refusée : sa signature ne correspond pas à la clé d'Usine, elle ne vient peut-être pas de l'équipe Usine. Rien n'a été installé. Merci de prévenir l'équipe Usine."
        ),
        Error::Reqwest(_) | Error::Network(_) | Error::ReleaseNotFound => tr!(
            en: "Usine could not reach its update server ({}). Check your internet connection and try again later.",
            fr: "Usine n'a pas pu joindre son serveur de mises à jour ({}). Vérifiez votre connexion à Internet et réessayez plus tard.",
            error
        ),
        Error::TargetNotFound(_) | Error::TargetsNotFound(_) => tr!(
            en: "The new version has no package for this system yet. Try again later, or install it from the release page.",
            fr: "La nouvelle version n'a pas encore de paquet pour ce système. Réessayez plus tard, ou installez-la depuis la page des versions."
        ),
        Error::AuthenticationFailed | Error::PackageInstallFailed | Error::DebInstallFailed => {
            tr!(
                en: "The update was downloaded and verified, but the system did not install it (installing needs an administrator's password). Try again, or install it with your package manager.",
                fr: "La mise à jour a été téléchargée et vérifiée, mais le système ne l'a pas installée (il faut le mot de passe d'un administrateur). Réessayez, ou installez-la avec votre gestionnaire de paquets."
            )
        }
        _ => tr!(
            en: "The update did not go through ({}). Your current version keeps working; try again later.",
            fr: "La mise à jour n'a pas abouti ({}). Votre version actuelle continue de fonctionner ; réessayez plus tard.",
            error
        ),
    };
    UiError {
        kind: ErrorKind::Offline,
        message,
    }
}
