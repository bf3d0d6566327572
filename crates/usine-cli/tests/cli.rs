//! The `usine` binary as a user runs it.

use std::process::{Command, Output};

fn usine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_usine"))
        .args(args)
        .output()
        .expect("usine runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn version_names_the_program_and_its_version() {
    let out = usine(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("usine {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn targets_lists_this_computer() {
    let out = usine(&["targets"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let first = text.lines().next().expect("one line per target");
    assert!(first.starts_with("this-computer"), "{text}");
    assert!(first.contains("This computer"), "{text}");

    let json: serde_json::Value =
        serde_json::from_slice(&usine(&["targets", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["kind"], "thisComputer");
}

#[test]
fn an_unknown_subcommand_is_refused_with_help() {
    let out = usine(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
}

fn doctor_check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check named {name} in {report}"))
}

/// Without a D-Bus session there is no keychain: doctor must say so, say what to do, and fail.
#[test]
fn doctor_reports_a_missing_keychain_with_a_fix() {
    let out = Command::new(env!("CARGO_BIN_EXE_usine"))
        .args(["doctor", "--json"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env(
            "XDG_RUNTIME_DIR",
            std::env::temp_dir().join("usine-no-such-runtime-dir"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success(), "doctor must fail without a keychain");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keychain = &doctor_check(&report, "System keychain")["outcome"];
    assert_eq!(keychain["status"], "problem", "{keychain}");
    assert!(keychain["fix"].as_str().unwrap().contains("keychain"));

    let text = stdout(
        &Command::new(env!("CARGO_BIN_EXE_usine"))
            .arg("doctor")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env(
                "XDG_RUNTIME_DIR",
                std::env::temp_dir().join("usine-no-such-runtime-dir"),
            )
            .output()
            .unwrap(),
    );
    assert!(text.contains("PROBLEM  System keychain"), "{text}");
    assert!(text.contains("→"), "every problem says what to do: {text}");
}

/// With a real Secret Service (gnome-keyring in a private D-Bus session) every check passes.
#[cfg(target_os = "linux")]
#[test]
fn doctor_passes_with_a_real_keychain_ssh_and_webview() {
    let runtime = tempdir("runtime");
    let data = tempdir("data");
    let script = format!(
        "printf usine-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec '{}' doctor --json",
        env!("CARGO_BIN_EXE_usine")
    );
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_DATA_HOME", &data)
        .output()
        .expect("dbus-run-session is installed (make deps)");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {}", String::from_utf8_lossy(&out.stderr)));
    for name in [
        "SSH client",
        "System keychain",
        "Web view for the app window",
    ] {
        let outcome = &doctor_check(&report, name)["outcome"];
        assert_eq!(outcome["status"], "ok", "{name}: {outcome}");
    }
    assert!(out.status.success());
}

#[cfg(target_os = "linux")]
fn tempdir(tag: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("usine-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

#[cfg(target_os = "linux")]
#[test]
fn draft_new_imports_a_script_and_refuses_a_file_too_large_to_be_one() {
    let dir = tempdir("script");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_usine"))
            .args(args)
            .env("USINE_DATA_DIR", dir.join("data"))
            .output()
            .expect("usine runs")
    };
    let script = dir.join("train.sbatch");
    std::fs::write(
        &script,
        "#!/bin/bash\n#SBATCH --job-name=train\nsrun python train.py\n",
    )
    .unwrap();
    let out = run(&["draft", "new", "--script", script.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("train"), "{}", stdout(&out));

    // A data file picked by mistake: refused before it is read, with the reason, no draft made.
    let big = dir.join("data.csv");
    std::fs::write(&big, vec![b'1'; 3 << 20]).unwrap();
    let out = run(&["draft", "new", "--script", big.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a batch script is a page of text"), "{err}");
    let list = stdout(&run(&["draft", "list"]));
    assert_eq!(
        list.lines().filter(|l| l.contains("train")).count(),
        1,
        "{list}"
    );
    assert_eq!(list.lines().count(), 1, "{list}");
    std::fs::remove_dir_all(&dir).unwrap();
}
