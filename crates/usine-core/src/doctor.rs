//! `usine doctor`: what this machine has that Usine relies on, in plain words, with the fix for
//! each missing piece.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

/// The result of one check. A fix is only ever attached to something that needs fixing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum Outcome {
    /// Present and working; `detail` says what was found (a version, a path).
    Ok { detail: String },
    /// Usine works without it, with less comfort.
    Warning { detail: String, fix: String },
    /// Usine cannot do part of its job until this is fixed.
    Problem { detail: String, fix: String },
}

impl Outcome {
    pub fn is_problem(&self) -> bool {
        matches!(self, Self::Problem { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// What was checked, in plain words.
    pub name: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn has_problems(&self) -> bool {
        self.checks.iter().any(|c| c.outcome.is_problem())
    }
}

/// Runs every check. Each one is quick (a PATH lookup, a library lookup, one keychain read).
pub fn run() -> Report {
    Report {
        checks: vec![ssh_client(), keychain(), webview()],
    }
}

fn ssh_client() -> Check {
    let name = "SSH client".to_owned();
    let outcome = match std::env::var_os("PATH").and_then(|p| find_in_path(exe("ssh"), &p)) {
        Some(path) => {
            // OpenSSH prints its version on stderr.
            let version = Command::new(&path)
                .arg("-V")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "version unknown".to_owned());
            Outcome::Ok {
                detail: format!("{version} ({})", path.display()),
            }
        }
        None => Outcome::Warning {
            detail: "no `ssh` command found".to_owned(),
            fix: "Usine connects to clusters by itself, but an OpenSSH client helps when you \
                  follow a site's own instructions. Install it (Debian/Ubuntu: `sudo apt install \
                  openssh-client`; Windows: Settings → Apps → Optional features → OpenSSH Client)."
                .to_owned(),
        },
    };
    Check { name, outcome }
}

fn keychain() -> Check {
    let name = "System keychain".to_owned();
    let fix = if cfg!(target_os = "linux") {
        "Usine keeps passwords and key passphrases only in the system keychain. Log in to a \
         desktop session with GNOME Keyring or KWallet running (on a server: run Usine inside \
         `dbus-run-session` with `gnome-keyring-daemon --unlock`)."
    } else {
        "Usine keeps passwords and key passphrases only in the system keychain. Make sure you \
         are logged in to your desktop session and that the keychain is unlocked."
    }
    .to_owned();
    let outcome = match keychain_status() {
        Ok(detail) => Outcome::Ok { detail },
        Err(detail) => Outcome::Problem { detail, fix },
    };
    Check { name, outcome }
}

fn keychain_status() -> Result<String, String> {
    use keyring::{Entry, Error};
    if let Err(error) = Entry::store_status() {
        return Err(format!("the keychain cannot be reached ({error})"));
    }
    // Reading an entry that does not exist proves the store answers without writing anything.
    let entry = Entry::new("usine", "doctor-probe").map_err(|e| e.to_string())?;
    match entry.get_password() {
        Ok(_) | Err(Error::NoEntry) => Ok(keychain_name().to_owned()),
        Err(error) => Err(format!("the keychain did not answer ({error})")),
    }
}

fn keychain_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "Secret Service (GNOME Keyring, KWallet, …)"
    }
}

fn webview() -> Check {
    let name = "Web view for the app window".to_owned();
    let outcome = match webview_status() {
        Ok(detail) => Outcome::Ok { detail },
        Err(detail) => Outcome::Problem {
            detail,
            fix: webview_fix().to_owned(),
        },
    };
    Check { name, outcome }
}

#[cfg(target_os = "linux")]
fn webview_status() -> Result<String, String> {
    const LIB: &str = "libwebkit2gtk-4.1.so.0";
    let from_cache = Command::new("ldconfig")
        .arg("-p")
        .output()
        .or_else(|_| Command::new("/sbin/ldconfig").arg("-p").output())
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.trim_start().starts_with(LIB))
                .and_then(|l| l.rsplit("=> ").next().map(str::to_owned))
        });
    let found = from_cache.map(PathBuf::from).or_else(|| {
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
        ]
        .iter()
        .map(|dir| Path::new(dir).join(LIB))
        .find(|p| p.exists())
    });
    match found {
        Some(path) => Ok(format!("WebKitGTK 4.1 ({})", path.display())),
        None => Err("WebKitGTK 4.1 is not installed".to_owned()),
    }
}

#[cfg(target_os = "macos")]
fn webview_status() -> Result<String, String> {
    Ok("WKWebView (part of macOS)".to_owned())
}

#[cfg(windows)]
fn webview_status() -> Result<String, String> {
    let roots = ["ProgramFiles(x86)", "ProgramFiles", "LOCALAPPDATA"];
    roots
        .iter()
        .filter_map(std::env::var_os)
        .map(|root| Path::new(&root).join("Microsoft").join("EdgeWebView"))
        .find(|p| p.exists())
        .map(|p| format!("Microsoft Edge WebView2 ({})", p.display()))
        .ok_or_else(|| "Microsoft Edge WebView2 Runtime is not installed".to_owned())
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn webview_status() -> Result<String, String> {
    Err("this operating system has no supported web view".to_owned())
}

fn webview_fix() -> &'static str {
    if cfg!(target_os = "linux") {
        "Install WebKitGTK 4.1 (Debian/Ubuntu: `sudo apt install libwebkit2gtk-4.1-0`; Fedora: \
         `sudo dnf install webkit2gtk4.1`). The `usine` command works without it."
    } else if cfg!(windows) {
        "Install the Microsoft Edge WebView2 Runtime from Microsoft's website (the Usine \
         installer normally does this)."
    } else {
        "Update your operating system; the desktop app needs its built-in web view."
    }
}

fn exe(name: &str) -> String {
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_owned()
    }
}

/// The first executable file called `name` in a `PATH`-style list of folders.
pub fn find_in_path(name: impl AsRef<OsStr>, path_var: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .map(|dir| dir.join(name.as_ref()))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn find_in_path_takes_the_first_executable_match() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("usine-doctor-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        // Not executable: must be skipped, as a shell would.
        std::fs::write(a.join("tool"), "").unwrap();
        std::fs::write(b.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path_var = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(find_in_path("tool", &path_var), Some(b.join("tool")));
        assert_eq!(find_in_path("absent", &path_var), None);
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn only_problems_make_a_report_fail() {
        let warn = Check {
            name: "x".into(),
            outcome: Outcome::Warning {
                detail: "d".into(),
                fix: "f".into(),
            },
        };
        let mut report = Report {
            checks: vec![warn.clone()],
        };
        assert!(!report.has_problems());
        report.checks.push(Check {
            name: "y".into(),
            outcome: Outcome::Problem {
                detail: "d".into(),
                fix: "f".into(),
            },
        });
        assert!(report.has_problems());
    }

    #[test]
    fn outcome_serializes_with_a_status_tag() {
        let json = serde_json::to_value(Outcome::Ok { detail: "v".into() }).unwrap();
        assert_eq!(json["status"], "ok");
        assert_eq!(json["detail"], "v");
    }
}
