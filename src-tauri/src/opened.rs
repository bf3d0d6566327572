//! Scripts the app is asked to open: a `.sbatch` file double-clicked in the file manager (the
//! packages register Usine for them) arrives as an argument, at start or, when Usine already
//! runs, through the single-instance plugin. The UI imports it as a draft.

use std::path::Path;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::error::UiError;

/// Must match `OPEN_SCRIPT_EVENT` in ui/src/lib/ipc.ts.
pub const OPEN_SCRIPT_EVENT: &str = "open-script";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenedScript {
    pub path: String,
    /// The script, or why it cannot be read.
    pub text: Option<String>,
    pub error: Option<String>,
}

/// The first argument after the program that names a file, read.
pub fn from_args(args: &[String]) -> Option<OpenedScript> {
    let path = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-') && Path::new(a).is_file())?;
    Some(
        match usine_core::jobs::sbatch::read_script(Path::new(path)) {
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
}

/// A second launch (e.g. another script double-clicked): bring the window forward and hand the
/// script to the UI.
pub fn on_second_launch<R: Runtime>(app: &AppHandle<R>, args: Vec<String>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
    if let Some(script) = from_args(&args) {
        let _ = app.emit(OPEN_SCRIPT_EVENT, script);
    }
}

/// The script given when the app started, if any.
#[tauri::command]
pub fn opened_at_start() -> Result<Option<OpenedScript>, UiError> {
    Ok(from_args(&std::env::args().collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_file_argument_is_read_and_flags_are_not_files() {
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
        let got = from_args(&args(&["--verbose", script.to_str().unwrap()])).unwrap();
        assert_eq!(got.text.as_deref(), Some("#!/bin/bash\n#SBATCH --gpus=1\n"));
        assert_eq!(from_args(&args(&["--verbose", "/nowhere/x.sbatch"])), None);
        assert_eq!(from_args(&args(&[])), None);

        let big = dir.join("big.sbatch");
        std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
        let refused = from_args(&args(&[big.to_str().unwrap()])).unwrap();
        assert!(refused.text.is_none());
        assert!(
            refused
                .error
                .unwrap()
                .contains("a batch script is a page of text")
        );
    }
}
