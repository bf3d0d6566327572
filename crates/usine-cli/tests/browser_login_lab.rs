//! `usine cluster add … --login browser` and `usine cluster connect --device` against the lab's
//! identity provider and step-ca stand-in, the way a person on a machine without a browser does
//! it; then what is left on disk is searched for anything secret.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

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
            "--lend-to-agent",
        ],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));

    // The person's own ssh-agent (a real OpenSSH one), to which the certificate is lent.
    let agent_dir = usine_lab_tests::ssh::scratch_file("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let socket = agent_dir.join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent starts");
    usine_lab_tests::wait_for("the agent's socket", Duration::from_secs(5), || {
        socket.exists().then_some(())
    });
    // $BROWSER is the test browser: it opens the address printed and logs in as alice.
    let browser = [
        ("SSH_AUTH_SOCK", socket.as_os_str()),
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

    // The person's own OpenSSH client logs in with what was lent to their agent.
    let own = Command::new("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=no",
            "-F",
            "/dev/null",
        ])
        .arg("-o")
        .arg(format!("IdentityAgent={}", socket.display()))
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            lab.var("USINE_LAB_KNOWN_HOSTS")
        ))
        .args([
            "-p",
            lab.var("USINE_LAB_SSH_PORT"),
            "alice@127.0.0.1",
            "id -un",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&own.stdout), "alice\n", "{}", text(&own.stderr));
    let listed = Command::new("ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(
        text(&listed.stdout).contains("ED25519-CERT"),
        "{}",
        text(&listed.stdout)
    );
    agent.kill().unwrap();
    let _ = agent.wait();

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
    // Forgetting the cluster removes the refresh token, which could still mint certificates.
    let forget = sb.run(&["cluster", "forget", &name], "");
    assert!(forget.status.success(), "{}", text(&forget.stderr));
    assert!(
        runtime
            .block_on(secrets::get(SecretKind::RefreshToken, &name))
            .is_none()
    );
}
