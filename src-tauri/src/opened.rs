//! Scripts the app is asked to open: a `.sbatch` file double-clicked in the file manager (the
//! packages register Usine for them) arrives as an argument, at start or, when Usine already
//! runs, through the single-instance plugin. They wait in an inbox until the window takes them
//! (the UI imports each as a draft): a file manager opening three scripts starts three launches
//! at once, and those handed over before the window listened were lost when they travelled only
//! as events.

use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::error::UiError;
use usine_core::app_events::AppEvent;
use usine_core::sync::Locked;

/// A script file the app was asked to open (a double-clicked `.sbatch`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OpenedScript {
    pub path: String,
    /// The script, or why it cannot be read.
    pub text: Option<String>,
    pub error: Option<String>,
}

/// Scripts handed to Usine that the window has not taken yet, oldest first.
#[derive(Debug, Default)]
pub struct Inbox(Mutex<Vec<OpenedScript>>);

impl Inbox {
    /// The inbox at start: the files this launch was given.
    pub fn from_args(args: &[String]) -> Self {
        Self(Mutex::new(scripts_in(args)))
    }

    fn push(&self, scripts: Vec<OpenedScript>) {
        self.0.locked().extend(scripts);
    }

    fn take(&self) -> Vec<OpenedScript> {
        std::mem::take(&mut *self.0.locked())
    }
}

/// Every argument after the program that names a file, read; flags are skipped.
pub fn scripts_in(args: &[String]) -> Vec<OpenedScript> {
    args.iter()
        .skip(1)
        .filter(|a| !a.starts_with('-') && Path::new(a).is_file())
        .map(
            |path| match usine_core::jobs::sbatch::read_script(Path::new(path)) {
                Ok(text) => OpenedScript {
                    path: path.clone(),
                    text: Some(text),
                    error: None,
                },
                Err(reason) => OpenedScript {
                    path: path.clone(),
                    text: None,
                    error: Some(usine_core::tr!(
                        en: "Usine cannot open {}: {}.",
                        fr: "Usine ne peut pas ouvrir {} : {}.",
                        path,
                        reason
                    )),
                },
            },
        )
        .collect()
}

/// A second launch (e.g. another script double-clicked): bring the window forward and hand its
/// scripts over.
pub fn on_second_launch<R: Runtime>(app: &AppHandle<R>, args: Vec<String>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
    hand_over(app, scripts_in(&args));
}

fn hand_over<R: Runtime>(app: &AppHandle<R>, scripts: Vec<OpenedScript>) {
    if scripts.is_empty() {
        return;
    }
    app.state::<Inbox>().push(scripts);
    let _ = crate::events::send(app, AppEvent::OpenScript);
}

/// Asks for a script in the system's dialog: it arrives as a double-clicked script does.
#[tauri::command]
#[tracing::instrument(skip(app))]
pub async fn choose_script<R: Runtime>(app: AppHandle<R>) {
    let kind = usine_core::local_pick::PickKind::Script;
    let picked = crate::files::pick_paths(app.clone(), kind).await;
    let args: Vec<String> = std::iter::once(String::new()).chain(picked).collect();
    hand_over(&app, scripts_in(&args));
}

/// The scripts waiting to be opened (those given at start among them); the inbox is then empty.
#[tauri::command]
pub fn take_opened_scripts(inbox: State<'_, Inbox>) -> Result<Vec<OpenedScript>, UiError> {
    Ok(inbox.take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_arguments_are_read_and_wait_in_the_inbox_until_taken() {
        let dir = std::env::temp_dir().join(format!("usine-opened-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("train.sbatch");
        std::fs::write(&script, "#!/bin/bash\n#SBATCH --gpus=1\n").unwrap();
        let args = |rest: &[&str]| {
            std::iter::once("usine-app")
                .chain(rest.iter().copied())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let path = script.to_str().unwrap();
        let got = scripts_in(&args(&["--verbose", path, "/nowhere/x.sbatch", path]));
        assert_eq!(got.len(), 2, "both files, not the flag nor the missing one");
        assert_eq!(
            got[0].text.as_deref(),
            Some("#!/bin/bash\n#SBATCH --gpus=1\n")
        );
        assert_eq!(scripts_in(&args(&[])), vec![]);

        // Handed over before the window takes them: kept, in order, and taken once.
        let inbox = Inbox::from_args(&args(&[path]));
        inbox.push(got);
        assert_eq!(inbox.take().len(), 3);
        assert_eq!(inbox.take(), vec![]);

        let big = dir.join("big.sbatch");
        std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
        let [refused] = <[_; 1]>::try_from(scripts_in(&args(&[big.to_str().unwrap()]))).unwrap();
        assert!(refused.text.is_none());
        assert!(
            refused
                .error
                .unwrap()
                .contains("a batch script is a page of text")
        );
    }
}
