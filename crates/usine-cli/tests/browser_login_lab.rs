//! `usine cluster add … --login browser` and `usine cluster connect --device` against the lab's
//! identity provider and step-ca stand-in, the way a person on a machine without a browser does
//! it; then what is left on disk is searched for anything secret.

use std::path::Path;

use usine_core::secrets::{self, SecretKind};
use usine_lab_tests::Lab;
use usine_lab_tests::cli::{Sandbox, add_lab_cluster, text};

/// Every file under `root`, read whole (the sandbox's data folder and home are small).
fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    walk(root)
        .into_iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read(&p).ok()?)))
        .collect()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path()),
            Ok(t) if t.is_file() => vec![e.path()],
            _ => Vec::new(),
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn add_and_connect_with_a_device_code_then_again_without_asking() {
    let lab = Lab::get();
    let sb = Sandbox::new(&lab, true, env!("CARGO_BIN_EXE_usine"));
    let name = lab.unique("cli-browser");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(secrets::delete(SecretKind::RefreshToken, &name));

    let add = add_lab_cluster(
        &sb,
        &name,
        "alice",
        &[
            "--login",
            "browser",
            "--ca-url",
            lab.var("USINE_LAB_STEPCA_URL"),
            "--fingerprint",
            lab.var("USINE_LAB_STEPCA_FINGERPRINT"),
            "--provisioner",
            "lab-oidc",
        ],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));

    // $BROWSER is the test browser: it opens the address printed and logs in as alice.
    let browser = [
        ("BROWSER", lab.var("USINE_LAB_BROWSER").as_ref()),
        ("LAB_BROWSER_USER", lab.var("USINE_LAB_IDP_USER").as_ref()),
        (
            "LAB_BROWSER_PASSWORD",
            lab.var("USINE_LAB_IDP_PASSWORD").as_ref(),
        ),
    ];
    let out = sb.run_with(&["cluster", "connect", &name, "--device"], "", &browser);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("enter the code"), "{stderr}");
    assert!(
        text(&out.stdout).contains("Connected to"),
        "{}",
        text(&out.stdout)
    );

    // A second command: the keychain's refresh token renews the certificate, no browser.
    let again = sb.run(&["cluster", "connect", &name], "");
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        !stderr.contains("To log in"),
        "no browser this time: {stderr}"
    );

    // Nothing secret on disk: the refresh token, any key or certificate, any JWT.
    let token = runtime
        .block_on(secrets::get(SecretKind::RefreshToken, &name))
        .expect("the refresh token is in the keychain");
    for (path, bytes) in files_under(&sb.data)
        .into_iter()
        .chain(files_under(&sb.home))
    {
        for needle in [
            token.as_bytes(),
            b"-cert-v01@openssh.com".as_slice(),
            b"OPENSSH PRIVATE KEY",
            b"eyJhbGciOi",
        ] {
            assert!(
                !contains(&bytes, needle),
                "{path} holds {}",
                String::from_utf8_lossy(needle)
            );
        }
    }
    runtime.block_on(secrets::delete(SecretKind::RefreshToken, &name));
}
