//! The lab's test browser (`tests/lab/idp/browser.mjs`): it plays the person at the lab's
//! identity provider, as the system browser would be used.

use std::process::Stdio;

/// Opens `url` in the test browser, which logs in as alice with `password` (and types the
/// device code `code`, if given). Returns at once, as a browser does; what the last page said
/// goes to the test's output.
pub fn open(url: &str, code: Option<&str>, password: &str) {
    let lab = crate::Lab::get();
    let mut command = tokio::process::Command::new("node");
    command.arg(lab.var("USINE_LAB_BROWSER"));
    if let Some(code) = code {
        command.args(["--device", code]);
    }
    command
        .arg(url)
        .env("LAB_BROWSER_USER", lab.var("USINE_LAB_IDP_USER"))
        .env("LAB_BROWSER_PASSWORD", password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let child = command.spawn().expect("the test browser (node) starts");
    tokio::spawn(async move {
        if let Ok(out) = child.wait_with_output().await {
            eprintln!(
                "test browser: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
    });
}
