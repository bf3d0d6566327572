//! A dropped link: logins that need nobody come back by themselves, within a bounded number of
//! tries; logins that need a one-time code are never replayed without the user.

use std::time::Duration;

use usine_core::cluster::{ClusterError, ClusterSettings, Connections, Login, ReconnectPolicy};
use usine_core::ssh::{ConnectionState, SshError};
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::CuttableProxy;
use usine_lab_tests::ssh::{Answers, answering};

fn settings(name: &str, port: u16, user: &str, login: Login) -> ClusterSettings {
    ClusterSettings {
        name: name.into(),
        site: None,
        host: "127.0.0.1".into(),
        port,
        user: user.into(),
        login,
        jumps: vec![],
        rest_url: None,
    }
}

fn quick(attempts: usize) -> ReconnectPolicy {
    ReconnectPolicy {
        delays: vec![Duration::from_millis(100); attempts],
    }
}

#[tokio::test]
async fn a_key_login_comes_back_after_the_link_is_restored() {
    let lab = Lab::get();
    let proxy = CuttableProxy::start(lab.var("USINE_LAB_SSH_PORT").parse().unwrap()).await;
    let connections = Connections::new(lab.host_keys_for_port(proxy.port()));
    let alice = settings(
        "relay-alice",
        proxy.port(),
        "alice",
        Login::Key {
            key: lab.var("USINE_LAB_KEY").into(),
            certificate: None,
        },
    );
    let (questions, _) = answering(Answers::default());
    let conn = connections.get(&alice, questions).await.unwrap();
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");

    proxy.cut();
    let broken = conn.exec("true").await;
    assert!(
        matches!(broken, Err(SshError::Disconnected { .. })),
        "{broken:?}"
    );
    assert!(connections.connected().await.is_empty());

    // While the network is down: bounded tries, then a clear Offline.
    let mut states = Vec::new();
    let err = connections
        .reconnect_quietly(&alice, &quick(2), |s| states.push(s))
        .await
        .err()
        .expect("no way back while the link is cut");
    assert!(
        matches!(err, ClusterError::ReconnectFailed { attempts: 2, .. }),
        "{err:?}"
    );
    assert_eq!(
        states[..2],
        [
            ConnectionState::Reconnecting { attempt: 1, of: 2 },
            ConnectionState::Reconnecting { attempt: 2, of: 2 },
        ]
    );
    assert!(matches!(states[2], ConnectionState::Offline { .. }));

    proxy.restore();
    let mut states = Vec::new();
    let conn = connections
        .reconnect_quietly(&alice, &quick(3), |s| states.push(s))
        .await
        .expect("back once the link is restored");
    assert_eq!(
        states,
        [
            ConnectionState::Reconnecting { attempt: 1, of: 3 },
            ConnectionState::Connected
        ]
    );
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "alice\n");
}

#[tokio::test]
async fn a_one_time_code_login_is_never_replayed_by_itself() {
    let lab = Lab::get();
    let proxy = CuttableProxy::start(lab.var("USINE_LAB_SSH_PORT").parse().unwrap()).await;
    let connections = Connections::new(lab.host_keys_for_port(proxy.port()));
    let bob = settings("relay-bob", proxy.port(), "bob", Login::PasswordAndCode);
    let (questions, asked) = answering(Answers {
        password: Some(lab.var("USINE_LAB_OTP_PASSWORD").to_owned()),
        code: Some(lab.totp()),
        ..Answers::default()
    });
    let conn = connections.get(&bob, questions).await.unwrap();
    assert_eq!(conn.exec("id -un").await.unwrap().stdout_text(), "bob\n");
    let asked_once = asked.lock().unwrap().len();
    let logins_before = lab.sshd_log_count("for bob from");

    proxy.cut();
    assert!(conn.exec("true").await.is_err());
    proxy.restore();

    let mut states = Vec::new();
    let err = connections
        .reconnect_quietly(&bob, &quick(3), |s| states.push(s))
        .await
        .err()
        .expect("a code login waits for the user");
    assert!(matches!(err, ClusterError::NeedsUser(_)), "{err:?}");
    assert!(err.to_string().contains("press Connect"), "{err}");
    assert!(
        matches!(&states[..], [ConnectionState::Offline { .. }]),
        "{states:?}"
    );
    // Nobody was asked, and the server saw no login attempt at all.
    assert_eq!(asked.lock().unwrap().len(), asked_once);
    assert_eq!(lab.sshd_log_count("for bob from"), logins_before);
}
