//! Browser login against the lab's real identity provider (oidc-provider) and its CA stand-ins
//! (step-ca, the federation's sshca, a bearer-token signing service), into the lab's real sshd,
//! which trusts those CAs and enforces the federation's domain grant. The test browser plays
//! the person. Refresh tokens go to a real Secret Service: run under scripts/with-keychain.sh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use usine_core::browser_login::{CertificateAuthority, LoginError, WalletEvent, Way};
use usine_core::cluster::{ClusterError, ClusterSettings, Connections, Login};
use usine_core::jobs::scheduler::Scheduler;
use usine_core::jobs::slurm_ssh::SlurmOverSsh;
use usine_core::secrets::{self, SecretKind};
use usine_core::ssh::{QuestionKind, SshError};
use usine_core::transfer;
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::CuttableProxy;
use usine_lab_tests::ssh::{Answers, answering, scratch_file};

fn step_ca(lab: &Lab, provisioner: &str) -> CertificateAuthority {
    CertificateAuthority::StepCa {
        ca_url: lab.var("USINE_LAB_STEPCA_URL").into(),
        fingerprint: lab.var("USINE_LAB_STEPCA_FINGERPRINT").into(),
        provisioner: provisioner.into(),
    }
}

fn sshca(lab: &Lab, resource: &str) -> CertificateAuthority {
    CertificateAuthority::Sshca {
        ca_url: lab.var("USINE_LAB_SSHCA_URL").into(),
        issuer: lab.var("USINE_LAB_IDP_URL").into(),
        client_id: lab.var("USINE_LAB_IDP_CLIENT").into(),
        resource: resource.into(),
    }
}

fn settings(lab: &Lab, name: &str, port: &str, authority: CertificateAuthority) -> ClusterSettings {
    ClusterSettings {
        name: name.into(),
        site: None,
        host: "127.0.0.1".into(),
        port: lab.var(port).parse().unwrap(),
        user: "alice".into(),
        login: Login::Browser {
            authority,
            share_with_agent: false,
        },
        jumps: vec![],
        rest_url: None,
    }
}

fn connections(lab: &Lab) -> Connections {
    let mut connections = Connections::new(lab.host_keys());
    connections.browser_wait = Duration::from_secs(20);
    connections
}

fn alice_logs_in(lab: &Lab) -> Answers {
    Answers {
        browser_password: Some(lab.var("USINE_LAB_IDP_PASSWORD").into()),
        ..Answers::default()
    }
}

fn browser_logins(asked: &[QuestionKind]) -> usize {
    asked
        .iter()
        .filter(|q| matches!(q, QuestionKind::BrowserLogin { .. }))
        .count()
}

/// Each test its own cluster name, so that their refresh tokens (keyed by it) stay apart.
async fn fresh_name(lab: &Lab, tag: &str) -> String {
    let name = lab.unique(tag);
    forget_token(&name).await;
    name
}

async fn forget_token(name: &str) {
    secrets::delete(SecretKind::RefreshToken, name).await;
}

#[tokio::test]
async fn step_ca_login_connects_then_a_new_process_renews_silently() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "step").await;
    let cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "lab-oidc"));
    let (questions, asked) = answering(alice_logs_in(&lab));
    let started = Instant::now();
    let conn = connections(&lab)
        .get(&cluster, questions)
        .await
        .expect("the browser login gives a certificate that logs in");
    eprintln!(
        "MEASURED browser login, from Log in to connected: {} ms",
        started.elapsed().as_millis()
    );
    let out = conn.exec("id -un").await.unwrap();
    assert_eq!(out.stdout_text(), "alice\n");
    assert_eq!(browser_logins(&asked.lock().unwrap()), 1);

    // The next process (a CLI command, the app after a restart) has no certificate in memory:
    // the refresh token from the keychain gets a new one without any question.
    let token = secrets::get(SecretKind::RefreshToken, &name).await;
    assert!(token.is_some(), "the refresh token is kept in the keychain");
    let (questions, asked) = answering(Answers::default());
    let conn = connections(&lab)
        .get(&cluster, questions)
        .await
        .expect("a new certificate from the refresh token");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    assert!(
        asked.lock().unwrap().is_empty(),
        "{:?}",
        asked.lock().unwrap()
    );
    forget_token(&name).await;
}

#[tokio::test]
async fn the_device_flow_logs_in_without_a_browser_here() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "device").await;
    let cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "lab-oidc"));
    let (questions, asked) = answering(alice_logs_in(&lab));
    let mut connections = connections(&lab);
    connections.login_way = Way::DeviceCode;
    let conn = connections
        .get(&cluster, questions)
        .await
        .expect("device flow");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    let asked = asked.lock().unwrap().clone();
    assert!(
        matches!(&asked[..], [QuestionKind::BrowserLogin { code: Some(code), .. }] if !code.is_empty()),
        "the person is shown a code to type: {asked:?}"
    );
    forget_token(&name).await;
}

#[tokio::test]
async fn the_federation_ca_works_only_where_it_grants_access() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "efp").await;
    let cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", sshca(&lab, "lab"));
    let (questions, _) = answering(alice_logs_in(&lab));
    let conns = connections(&lab);
    let conn = conns.get(&cluster, questions).await.expect("EFP login");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    assert!(
        conns.wallet.status(&name).is_some(),
        "the cluster card can show the expiry"
    );

    // The same certificate on another site's login node: its domain grant names "lab" only,
    // and lab24's sshd (AuthorizedPrincipalsCommand) refuses it.
    let elsewhere = ClusterSettings {
        name: name.clone() + "-elsewhere",
        port: lab.var("USINE_LAB24_SSH_PORT").parse().unwrap(),
        ..cluster.clone()
    };
    let issued = conns.wallet.current(&name).expect("held in memory");
    let spec = elsewhere.connect_spec_with(Some(&issued));
    let (questions, _) = answering(Answers::default());
    let refused = usine_core::ssh::Connection::open(&spec, lab.host_keys(), questions).await;
    assert!(
        matches!(refused, Err(SshError::AuthRejected { .. })),
        "lab24 refuses a certificate granted for lab: {:?}",
        refused.err()
    );

    // Asking the CA for a site the account has no access to: said plainly, with the site.
    let name24 = fresh_name(&lab, "efp24").await;
    let cluster24 = settings(&lab, &name24, "USINE_LAB24_SSH_PORT", sshca(&lab, "lab24"));
    let (questions, _) = answering(alice_logs_in(&lab));
    let error = connections(&lab).get(&cluster24, questions).await.err();
    match &error {
        Some(ClusterError::Login(LoginError::NoEntitlement { resource, .. })) => {
            assert_eq!(resource, "lab24");
            let message = error.as_ref().unwrap().to_string();
            assert!(
                message.contains("lab24") && message.contains("Request access"),
                "{message}"
            );
        }
        other => panic!("expected no entitlement, got {other:?}"),
    }
    forget_token(&name).await;
    forget_token(&name24).await;
}

#[tokio::test]
async fn a_bearer_token_signing_service_logs_in_too() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "signer").await;
    let authority = CertificateAuthority::SigningService {
        sign_url: lab.var("USINE_LAB_SIGNER_URL").into(),
        issuer: lab.var("USINE_LAB_IDP_URL").into(),
        client_id: lab.var("USINE_LAB_IDP_CLIENT").into(),
        duration: "1d".into(),
    };
    let cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", authority);
    let (questions, _) = answering(alice_logs_in(&lab));
    let conn = connections(&lab)
        .get(&cluster, questions)
        .await
        .expect("signed");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    forget_token(&name).await;
}

#[tokio::test]
async fn a_wrong_password_at_the_provider_ends_with_a_clear_timeout() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "wrongpw").await;
    let cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "lab-oidc"));
    let (questions, _) = answering(Answers {
        browser_password: Some("not alice's password".into()),
        ..Answers::default()
    });
    let mut connections = connections(&lab);
    connections.browser_wait = Duration::from_secs(4);
    let error = connections.get(&cluster, questions).await.err();
    assert!(
        matches!(
            error,
            Some(ClusterError::Login(LoginError::BrowserTimedOut { .. }))
        ),
        "{error:?}"
    );
    assert!(
        secrets::get(SecretKind::RefreshToken, &name)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn refusals_before_any_browser_opens() {
    let lab = Lab::get();
    // The CA's root is not the one the site published: refused like a changed host key.
    let CertificateAuthority::StepCa {
        ca_url,
        provisioner,
        ..
    } = step_ca(&lab, "lab-oidc")
    else {
        unreachable!()
    };
    let forged = CertificateAuthority::StepCa {
        ca_url,
        fingerprint: "00".repeat(32),
        provisioner,
    };
    let name = fresh_name(&lab, "forged").await;
    let (questions, asked) = answering(alice_logs_in(&lab));
    let error = connections(&lab)
        .get(
            &settings(&lab, &name, "USINE_LAB_SSH_PORT", forged),
            questions,
        )
        .await
        .err();
    assert!(
        matches!(
            error,
            Some(ClusterError::Login(LoginError::FingerprintChanged { .. }))
        ),
        "{error:?}"
    );
    // A provisioner the CA does not have.
    let error = connections(&lab)
        .get(
            &settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "nope")),
            answering(alice_logs_in(&lab)).0,
        )
        .await
        .err();
    assert!(
        matches!(
            error,
            Some(ClusterError::Login(LoginError::NoProvisioner { .. }))
        ),
        "{error:?}"
    );
    // The fixed loopback port this provisioner needs is taken by another program.
    let port: u16 = lab.var("USINE_LAB_STEPCA_LISTEN_PORT").parse().unwrap();
    let _other_program = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let error = connections(&lab)
        .get(
            &settings(
                &lab,
                &name,
                "USINE_LAB_SSH_PORT",
                step_ca(&lab, "lab-oidc-fixed-port"),
            ),
            answering(alice_logs_in(&lab)).0,
        )
        .await
        .err();
    assert!(
        matches!(error, Some(ClusterError::Login(LoginError::PortTaken { port: p })) if p == port),
        "{error:?}"
    );
    assert_eq!(browser_logins(&asked.lock().unwrap()), 0);
}

#[tokio::test]
async fn a_certificate_for_someone_else_is_not_used() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "principal").await;
    let mut cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "lab-oidc"));
    cluster.user = "carol".into();
    let (questions, _) = answering(alice_logs_in(&lab));
    let error = connections(&lab).get(&cluster, questions).await.err();
    match error {
        Some(ClusterError::Login(LoginError::WrongPrincipal { user, principals })) => {
            assert_eq!(user, "carol");
            assert!(principals.contains("alice"), "{principals}");
        }
        other => panic!("expected a wrong principal, got {other:?}"),
    }
    forget_token(&name).await;
}

/// The lab's certificates last a minute: the wallet renews at 80 % with the refresh token,
/// asking nothing, while the open connection goes on; a new connection uses the new one.
#[tokio::test]
async fn certificates_renew_without_asking_and_connections_stay() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "renew").await;
    let cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "lab-oidc"));
    let (questions, asked) = answering(alice_logs_in(&lab));
    let conns = connections(&lab);
    let mut events = conns.wallet.subscribe();
    let conn = conns.get(&cluster, questions.clone()).await.expect("login");
    let first = conns
        .wallet
        .current(&name)
        .unwrap()
        .certificate
        .valid_before();
    // A long command keeps a channel open across the renewal.
    let long = {
        let conn = Arc::clone(&conn);
        tokio::spawn(async move { conn.exec("sleep 55; echo still here").await })
    };
    let event = tokio::time::timeout(Duration::from_secs(90), events.recv())
        .await
        .expect("a renewal within the certificate's life")
        .unwrap();
    let WalletEvent::Renewed {
        cluster: renewed,
        valid_before,
    } = event
    else {
        panic!("expected a renewal, got {event:?}");
    };
    assert_eq!(renewed, name);
    assert!(
        valid_before > first,
        "a later end: {valid_before} > {first}"
    );
    assert_eq!(
        long.await.unwrap().unwrap().stdout_text(),
        "still here\n",
        "the channel open during the renewal finished"
    );
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    // A new login (after a drop, say) takes the renewed certificate, with no question.
    let mut again = connections(&lab);
    again.wallet = conns.wallet.clone();
    let renewed = conns
        .wallet
        .current(&name)
        .unwrap()
        .certificate
        .valid_before();
    assert_eq!(renewed, valid_before);
    let conn = again.get(&cluster, questions).await.expect("relogin");
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    // And jobs go out through it.
    let slurm = SlurmOverSsh::new(conn);
    let job = lab.unique("cert-job");
    let spec = lab.cpu_job(&job, "echo done\n");
    let script = usine_core::jobs::sbatch::render(&spec).unwrap();
    let id = slurm.submit(&job, &spec, &script).await.expect("submitted");
    assert!(
        id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty(),
        "{id}"
    );
    assert_eq!(
        browser_logins(&asked.lock().unwrap()),
        1,
        "asked once, at the start"
    );
    forget_token(&name).await;
}

/// When the provider no longer renews (the refresh token revoked, here deleted), the wallet
/// says so before the end, the card says the certificate ends soon, and Log in again gets a new
/// one through the browser, the connection kept.
#[tokio::test]
async fn when_renewal_is_impossible_the_person_is_asked_in_time() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "stuck").await;
    let cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "lab-oidc"));
    let db = usine_lab_tests::ssh::scratch_file("stuck").join("db.sqlite3");
    let store = std::sync::Mutex::new(usine_core::store::Store::open(&db).unwrap());
    usine_core::cluster::add(&store.lock().unwrap(), &cluster).unwrap();
    let (questions, asked) = answering(alice_logs_in(&lab));
    let conns = connections(&lab);
    let mut events = conns.wallet.subscribe();
    let conn = conns.get(&cluster, questions.clone()).await.expect("login");
    forget_token(&name).await;
    let event = tokio::time::timeout(Duration::from_secs(90), events.recv())
        .await
        .expect("told before the end")
        .unwrap();
    assert!(
        matches!(&event, WalletEvent::LoginNeeded { cluster, .. } if *cluster == name),
        "{event:?}"
    );
    let notice = event.notice().expect("a notification").0;
    assert!(notice.contains(&name), "{notice}");
    assert_eq!(
        conns.wallet.status(&name).unwrap().state,
        usine_core::ssh::certificate::CertificateState::ExpiresSoon
    );
    // Past the certificate's end, the open connection still opens channels (sshd checks a
    // certificate at login only): work under way goes on until the person logs in again.
    let ends = conns.wallet.status(&name).unwrap().valid_before;
    let now = usine_core::ssh::certificate::now();
    tokio::time::sleep(Duration::from_secs(ends.saturating_sub(now) + 2)).await;
    assert_eq!(
        conns.wallet.status(&name).unwrap().state,
        usine_core::ssh::certificate::CertificateState::Expired
    );
    assert_eq!(
        conn.exec("echo after the end").await.unwrap().stdout_text(),
        "after the end\n"
    );
    let renewed = usine_core::cluster::log_in_again(&store, &conns, &name, questions)
        .await
        .expect("logged in again")
        .expect("a certificate");
    assert_eq!(
        renewed.state,
        usine_core::ssh::certificate::CertificateState::Valid
    );
    assert_eq!(browser_logins(&asked.lock().unwrap()), 2);
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
    forget_token(&name).await;
}

/// The worst case: a 1 GiB upload under a browser login, the link drops midway, and by
/// the time it is back the certificate has ended (and cannot renew by itself). Reconnecting
/// needs the person; once they log in again, the upload continues from what the cluster had
/// confirmed: nothing confirmed is sent again.
#[tokio::test]
async fn an_upload_cut_past_the_certificates_end_continues_after_logging_in_again() {
    let lab = Lab::get();
    let name = fresh_name(&lab, "upload").await;
    let proxy = CuttableProxy::start(lab.var("USINE_LAB_SSH_PORT").parse().unwrap()).await;
    let mut cluster = settings(&lab, &name, "USINE_LAB_SSH_PORT", step_ca(&lab, "lab-oidc"));
    cluster.port = proxy.port();
    let mut conns = Connections::new(lab.host_keys_for_port(proxy.port()));
    conns.browser_wait = Duration::from_secs(20);
    let (questions, asked) = answering(alice_logs_in(&lab));
    let conn = conns.get(&cluster, questions.clone()).await.expect("login");
    forget_token(&name).await; // the provider will not renew it

    let size: u64 = 1 << 30;
    let src = scratch_file("cert-upload");
    std::fs::create_dir_all(&src).unwrap();
    let chunk: Vec<u8> = (0..8u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut file = std::fs::File::create(src.join("weights.bin")).unwrap();
    for i in 0..(size / chunk.len() as u64) {
        use std::io::Write;
        file.write_all(&chunk[..chunk.len() - (i as usize % 7)])
            .unwrap();
        file.write_all(&vec![i as u8; i as usize % 7]).unwrap();
    }
    drop(file);
    let db = scratch_file("cert-upload-db").join("db.sqlite3");
    let store = std::sync::Mutex::new(usine_core::store::Store::open(&db).unwrap());
    let remote = format!("/home/alice/usine-it/cert-upload-{}", std::process::id());
    let (id, _) = transfer::create(&store, &name, &src, &remote).unwrap();

    let mut cut_at = 0;
    let first = transfer::upload(&conn, &store, &id, |p| {
        if cut_at == 0 && p.bytes_done > size * 6 / 10 {
            cut_at = p.bytes_done;
            proxy.cut();
        }
    })
    .await;
    assert!(
        matches!(first, Err(transfer::TransferError::Interrupted(_))),
        "{first:?}"
    );

    // The certificate ends while the link is down.
    let ends = conns.wallet.status(&name).unwrap().valid_before;
    let now = usine_core::ssh::certificate::now();
    tokio::time::sleep(Duration::from_secs(ends.saturating_sub(now) + 2)).await;
    proxy.restore();
    let quietly = conns
        .get(&cluster, answering(Answers::default()).0)
        .await
        .err();
    assert!(
        matches!(quietly, Some(ClusterError::Login(LoginError::Cancelled))),
        "without the person, no new certificate: {quietly:?}"
    );

    // The person logs in again; the upload continues.
    let conn = conns
        .get(&cluster, questions)
        .await
        .expect("logged in again");
    let second = transfer::upload(&conn, &store, &id, |_| {}).await.unwrap();
    assert_eq!(second.verified, 1, "{:?}", second.problems);
    let in_flight = transfer::CHANNELS as u64 * transfer::PART;
    assert!(
        second.bytes_sent <= size - cut_at + in_flight,
        "sent {} after a cut at {cut_at} of {size}",
        second.bytes_sent
    );
    assert_eq!(browser_logins(&asked.lock().unwrap()), 2);
    conn.exec(&format!("rm -rf {}", usine_core::ssh::quote(&remote)))
        .await
        .unwrap();
    std::fs::remove_dir_all(&src).unwrap();
    forget_token(&name).await;
}
