//! Usine's own SSH client against the lab's real OpenSSH servers: every login method, host-key
//! decisions, bastions, and many commands over one authenticated connection.

use std::sync::Arc;

use usine_core::ssh::{
    Connection, ConnectionState, Credential, Hop, HostKeyStore, QuestionKind, SshError,
    fingerprint_sha256,
};
use usine_lab_tests::Lab;
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

/// The tests count lines in the shared sshd log, so they run one at a time.
static SSHD_LOG: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn key_login_runs_commands() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let (questions, asked) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .expect("alice logs in with her key");
    assert_eq!(*conn.state().borrow(), ConnectionState::Connected);
    let out = conn.exec("id -un; echo err >&2; exit 3").await.unwrap();
    assert_eq!(out.stdout_text(), "alice\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.exit_status, Some(3));
    assert!(
        asked.lock().unwrap().is_empty(),
        "a known host with a key asks nothing"
    );
    conn.close().await;
}

#[tokio::test]
async fn rsa_and_ecdsa_keys_log_in_too() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    // OpenSSH 9 refuses SHA-1 `ssh-rsa` signatures by default, so an RSA login that succeeds
    // was signed with rsa-sha2-256/512.
    for (var, key_type) in [
        ("USINE_LAB_RSA_KEY", "RSA"),
        ("USINE_LAB_ECDSA_KEY", "ECDSA"),
    ] {
        let server_says = "Accepted publickey for alice from 127.0.0.1 port";
        let hop = Hop {
            credentials: vec![Credential::KeyFile {
                path: lab.var(var).into(),
                certificate: None,
            }],
            ..lab.key_hop()
        };
        let count = || {
            std::fs::read_to_string("/var/log/sshd-usine-lab.log")
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(server_says) && l.contains(&format!("ssh2: {key_type} ")))
                .count()
        };
        let before = count();
        let (questions, _) = answering(Answers::default());
        let conn = Connection::open(&spec(hop), lab.host_keys(), questions)
            .await
            .unwrap_or_else(|e| panic!("{var}: {e}"));
        assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
        conn.close().await;
        assert_eq!(count() - before, 1, "{var}");
    }
}

#[tokio::test]
async fn fifty_commands_and_an_sftp_transfer_with_one_authentication() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let before = lab.sshd_log_count("Accepted publickey for alice");
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap();
    for i in 0..50 {
        let out = conn.exec(&format!("echo {i}")).await.unwrap();
        assert_eq!(out.stdout_text(), format!("{i}\n"));
    }
    // And a file there and back over SFTP, on the same connection.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sftp = conn.sftp().await.unwrap();
    let name = format!("usine-sftp-{}", std::process::id());
    let mut file = sftp.create(&name).await.unwrap();
    file.write_all(&data).await.unwrap();
    file.shutdown().await.unwrap();
    let mut back = Vec::new();
    sftp.open(&name)
        .await
        .unwrap()
        .read_to_end(&mut back)
        .await
        .unwrap();
    assert!(back == data, "the file came back different");
    let size = conn
        .exec(&format!("stat -c %s {name} && rm {name}"))
        .await
        .unwrap();
    assert_eq!(size.stdout_text(), "2000000\n");
    conn.close().await;
    assert_eq!(
        lab.sshd_log_count_settled("Accepted publickey for alice", before) - before,
        1
    );
}

#[tokio::test]
async fn password_and_one_time_code() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let (questions, asked) = answering(Answers {
        password: Some(lab.var("USINE_LAB_OTP_PASSWORD").to_owned()),
        code: Some(lab.totp()),
        ..Answers::default()
    });
    let conn = Connection::open(&spec(lab.otp_hop()), lab.host_keys(), questions)
        .await
        .expect("bob logs in with password + code");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "bob\n");
    // The server's prompts reach the user exactly as sent, one round each.
    let asked = asked.lock().unwrap().clone();
    let prompts: Vec<String> = asked
        .iter()
        .flat_map(|q| match q {
            QuestionKind::KeyboardInteractive { prompts, .. } => {
                prompts.iter().map(|p| p.text.clone()).collect()
            }
            _ => vec![],
        })
        .collect();
    assert_eq!(prompts, ["Password: ", "Verification code: "]);
    conn.close().await;
}

#[tokio::test]
async fn a_wrong_code_fails_once_and_is_not_retried() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let good: u32 = lab.totp().parse().unwrap();
    let wrong = format!("{:06}", (good + 500_000) % 1_000_000);
    let before = lab.sshd_log_count("Failed keyboard-interactive/pam for bob");
    let (questions, asked) = answering(Answers {
        password: Some(lab.var("USINE_LAB_OTP_PASSWORD").to_owned()),
        code: Some(wrong),
        ..Answers::default()
    });
    let err = Connection::open(&spec(lab.otp_hop()), lab.host_keys(), questions)
        .await
        .err()
        .expect("a wrong code is refused");
    assert!(matches!(err, SshError::CodeRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("wait for a new code"), "{err}");
    // One server attempt, and the user was asked for the code exactly once.
    assert_eq!(
        lab.sshd_log_count_settled("Failed keyboard-interactive/pam for bob", before) - before,
        1
    );
    let code_prompts = asked
        .lock()
        .unwrap()
        .iter()
        .filter(|q| matches!(q, QuestionKind::KeyboardInteractive { prompts, .. } if prompts.iter().any(|p| p.text.contains("erification"))))
        .count();
    assert_eq!(code_prompts, 1);
}

#[tokio::test]
async fn certificate_login_and_expired_certificate() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let hop = |key: &str, cert: &str| Hop {
        endpoint: lab.endpoint(lab.var("USINE_LAB_CERT_USER")),
        credentials: vec![Credential::KeyFile {
            path: lab.var(key).into(),
            certificate: Some(lab.var(cert).into()),
        }],
    };
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(
        &spec(hop("USINE_LAB_CERT_KEY", "USINE_LAB_CERT")),
        lab.host_keys(),
        questions.clone(),
    )
    .await
    .expect("carol logs in with her certificate");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "carol\n");
    conn.close().await;

    let err = Connection::open(
        &spec(hop("USINE_LAB_EXPIRED_CERT_KEY", "USINE_LAB_EXPIRED_CERT")),
        lab.host_keys(),
        questions,
    )
    .await
    .err()
    .expect("an expired certificate is refused");
    assert!(
        matches!(err, SshError::CertificateExpired { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("2020-01-02"), "{err}");
}

#[tokio::test]
async fn proxy_jump_through_the_bastion() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let jump = Hop {
        endpoint: lab.jump_endpoint(),
        credentials: lab.key_hop().credentials,
    };
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()).via(jump), lab.host_keys(), questions)
        .await
        .expect("alice reaches the login node through the bastion");
    let out = conn.exec("echo $SSH_CONNECTION").await.unwrap();
    // The login node sees the connection coming from the bastion's side of loopback.
    assert!(
        out.stdout_text().ends_with(" 2222\n"),
        "{}",
        out.stdout_text()
    );
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    conn.close().await;
}

#[tokio::test]
async fn an_unknown_host_asks_with_its_fingerprint_and_remembers_the_answer() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let store = Arc::new(HostKeyStore {
        user_file: None,
        app_file: scratch_file("known_hosts"),
    });

    // Declined: no connection, and nothing recorded.
    let (questions, asked) = answering(Answers::default());
    let err = Connection::open(&spec(lab.key_hop()), store.clone(), questions)
        .await
        .err()
        .expect("an untrusted host is refused");
    assert!(matches!(err, SshError::HostKeyNotTrusted { .. }), "{err:?}");
    let fingerprint = match &asked.lock().unwrap()[..] {
        [
            QuestionKind::UnknownHostKey {
                fingerprint,
                port: 2222,
                ..
            },
        ] => fingerprint.clone(),
        other => panic!("expected one host-key question, got {other:?}"),
    };
    let recorded = std::fs::read_to_string(lab.var("USINE_LAB_KNOWN_HOSTS")).unwrap();
    let server_fingerprints: Vec<String> = recorded
        .lines()
        .filter(|l| l.starts_with("[127.0.0.1]:2222 "))
        .map(|l| {
            let key = l.split_once(' ').unwrap().1;
            fingerprint_sha256(&usine_core_public_key(key))
        })
        .collect();
    assert!(
        server_fingerprints.contains(&fingerprint),
        "{fingerprint} not in {server_fingerprints:?}"
    );
    assert!(!store.app_file.exists());

    // Trusted: connected, recorded, and not asked again.
    let (questions, asked) = answering(Answers {
        trust_host: true,
        ..Answers::default()
    });
    Connection::open(&spec(lab.key_hop()), store.clone(), questions)
        .await
        .unwrap()
        .close()
        .await;
    assert_eq!(asked.lock().unwrap().len(), 1);
    let (questions, asked) = answering(Answers::default());
    Connection::open(&spec(lab.key_hop()), store, questions)
        .await
        .unwrap()
        .close()
        .await;
    assert!(asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_changed_host_key_is_refused_without_asking() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let forged = scratch_file("forged_known_hosts");
    // Another ed25519 key recorded for the lab's login node.
    std::fs::write(
        &forged,
        "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJzUzVA6pl9x74fzCdTEJCMvrzROKIyWA71quC+NMH5P\n",
    )
    .unwrap();
    let store = Arc::new(HostKeyStore {
        user_file: Some(forged.clone()),
        app_file: scratch_file("app"),
    });
    let (questions, asked) = answering(Answers {
        trust_host: true,
        ..Answers::default()
    });
    let err = Connection::open(&spec(lab.key_hop()), store, questions)
        .await
        .err()
        .expect("a changed key is refused");
    match &err {
        SshError::HostKeyChanged { file, line, .. } => {
            assert_eq!(file, &forged);
            assert_eq!(*line, 1);
        }
        other => panic!("expected HostKeyChanged, got {other:?}"),
    }
    assert!(err.to_string().contains("intercepting"), "{err}");
    assert!(
        asked.lock().unwrap().is_empty(),
        "a changed key is never offered for trust"
    );
}

/// A host whose `known_hosts` line is its ECDSA or RSA key (as many users' files are, written
/// by an older OpenSSH) is recognised by that key, as `ssh` does with the same file, and a
/// different key of that type is refused: never a "trust this new host?" an attacker could
/// provoke by offering another algorithm.
#[tokio::test]
async fn a_host_known_only_by_its_ecdsa_or_rsa_key_is_checked_against_it() {
    let lab = Lab::get();
    let port = lab.var("USINE_LAB_SSH_PORT");
    for kind in ["ecdsa", "rsa"] {
        let real = std::fs::read_to_string(format!("/etc/ssh/ssh_host_{kind}_key.pub")).unwrap();
        let real: Vec<&str> = real.split_whitespace().take(2).collect();
        let known = scratch_file(&format!("{kind}_known_hosts"));
        std::fs::write(&known, format!("[127.0.0.1]:{port} {}\n", real.join(" "))).unwrap();
        let store = Arc::new(HostKeyStore {
            user_file: Some(known),
            app_file: scratch_file("app"),
        });
        let (questions, asked) = answering(Answers::default());
        let conn = Connection::open(&spec(lab.key_hop()), store, questions)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            conn.exec("echo ok").await.unwrap().stdout_text().trim(),
            "ok"
        );
        assert!(asked.lock().unwrap().is_empty(), "{kind}: nothing asked");

        // Another key of the same type recorded: refused, not asked about.
        let other = scratch_file(&format!("other_{kind}"));
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-f"])
            .arg(&other)
            .status()
            .unwrap();
        assert!(made.success());
        let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
        let other_pub: Vec<&str> = other_pub.split_whitespace().take(2).collect();
        let forged = scratch_file(&format!("forged_{kind}_known_hosts"));
        std::fs::write(
            &forged,
            format!("[127.0.0.1]:{port} {}\n", other_pub.join(" ")),
        )
        .unwrap();
        let store = Arc::new(HostKeyStore {
            user_file: Some(forged),
            app_file: scratch_file("app"),
        });
        let (questions, asked) = answering(Answers {
            trust_host: true,
            ..Answers::default()
        });
        let err = Connection::open(&spec(lab.key_hop()), store, questions)
            .await
            .err()
            .unwrap_or_else(|| panic!("{kind}: a changed key is refused"));
        assert!(
            matches!(err, SshError::HostKeyChanged { .. }),
            "{kind}: {err:?}"
        );
        assert!(asked.lock().unwrap().is_empty(), "{kind}: nothing asked");
    }
}

#[tokio::test]
async fn a_refused_key_says_what_to_check() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let hop = Hop {
        credentials: vec![Credential::KeyFile {
            path: lab.var("USINE_LAB_CERT_KEY").into(), // carol's key, not registered for alice
            certificate: None,
        }],
        ..lab.key_hop()
    };
    let (questions, _) = answering(Answers::default());
    let err = Connection::open(&spec(hop), lab.host_keys(), questions)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SshError::AuthRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("registered"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_said_as_a_closed_port_not_a_network_problem() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let mut hop = lab.key_hop();
    hop.endpoint.port = 1; // nothing listens there
    let (questions, _) = answering(Answers::default());
    let err = Connection::open(&spec(hop), lab.host_keys(), questions)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, SshError::PortClosed { port: 1, .. }),
        "{err:?}"
    );
    let said = err.to_string();
    assert!(
        said.contains("Nothing accepts SSH connections on port 1"),
        "{said}"
    );
    assert!(!said.contains("internet connection"), "{said}");
}

fn usine_core_public_key(openssh: &str) -> usine_core::ssh::PublicKey {
    usine_core::ssh::PublicKey::from_openssh(openssh).unwrap()
}

fn encrypted_key_hop(lab: &Lab) -> Hop {
    Hop {
        credentials: vec![Credential::KeyFile {
            path: lab.var("USINE_LAB_ENCRYPTED_KEY").into(),
            certificate: None,
        }],
        ..lab.key_hop()
    }
}

#[tokio::test]
async fn an_encrypted_key_asks_for_its_passphrase_until_it_is_right_locally() {
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let before = lab.sshd_log_count("for alice");
    let (questions, asked) = answering(Answers {
        passphrase: Some("not the passphrase".into()),
        ..Answers::default()
    });
    let err = Connection::open(&spec(encrypted_key_hop(&lab)), lab.host_keys(), questions)
        .await
        .err()
        .expect("a wrong passphrase cannot open the key");
    assert!(matches!(err, SshError::WrongPassphrase { .. }), "{err:?}");
    // Three local tries, and not a single login attempt reached the server.
    assert_eq!(asked.lock().unwrap().len(), 3);
    assert_eq!(lab.sshd_log_count("for alice"), before);
}

/// Needs a real Secret Service: `make test` runs the Rust tests under scripts/with-keychain.sh.
#[tokio::test]
async fn an_encrypted_key_opens_with_the_passphrase_kept_in_the_keychain() {
    use usine_core::secrets::{self, SecretKind};
    let _serial = SSHD_LOG.lock().await;
    let lab = Lab::get();
    let key_id = lab.var("USINE_LAB_ENCRYPTED_KEY");
    assert!(
        secrets::delete(SecretKind::KeyPassphrase, key_id).await,
        "no usable keychain: run the tests under scripts/with-keychain.sh"
    );

    // First use: asked once, and the keychain keeps the passphrase that worked.
    let (questions, asked) = answering(Answers {
        passphrase: Some(lab.var("USINE_LAB_KEY_PASSPHRASE").to_owned()),
        ..Answers::default()
    });
    let conn = Connection::open(&spec(encrypted_key_hop(&lab)), lab.host_keys(), questions)
        .await
        .expect("the right passphrase opens the key");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    conn.close().await;
    assert!(matches!(
        &asked.lock().unwrap()[..],
        [QuestionKind::KeyPassphrase { .. }]
    ));
    let kept = secrets::get(SecretKind::KeyPassphrase, key_id).await;
    assert_eq!(
        kept.as_deref().map(String::as_str),
        Some(lab.var("USINE_LAB_KEY_PASSPHRASE"))
    );

    // Next time: nothing is asked.
    let (questions, asked) = answering(Answers::default());
    Connection::open(&spec(encrypted_key_hop(&lab)), lab.host_keys(), questions)
        .await
        .expect("the keychain's passphrase opens the key")
        .close()
        .await;
    assert!(asked.lock().unwrap().is_empty());
    secrets::delete(SecretKind::KeyPassphrase, key_id).await;
}

/// More commands at once than sshd allows on one connection (MaxSessions, 10): the extra ones
/// wait for a turn instead of failing ("no more sessions"), as when an upload, a download and
/// the GPU chart share the connection. Each holds its channel longer than the refusals are
/// asked again for.
#[tokio::test]
async fn more_commands_at_once_than_the_server_allows_wait_their_turn() {
    let lab = Lab::get();
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap();
    let scripts: Vec<String> = (0..13).map(|i| format!("sleep 3; echo {i}")).collect();
    let commands = scripts.iter().map(|s| conn.exec(s));
    let outs = futures_util::future::join_all(commands).await;
    for (i, out) in outs.into_iter().enumerate() {
        let out = out.unwrap_or_else(|e| panic!("command {i}: {e}"));
        assert_eq!(out.stdout_text(), format!("{i}\n"));
    }
    conn.close().await;
}
