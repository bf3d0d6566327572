//! Interactive sessions against the lab: JupyterLab and TensorBoard started as Slurm jobs from
//! the lab's venv (as a site's module), opened through the cluster's one connection, a notebook
//! cell run over the kernel's websocket through the tunnel (as a browser does); the tunnel after
//! a dropped link; the `srun` relay where the login node does not forward. (This computer's
//! sessions are tested through the `usine` command, which has its own data folder.)

use std::sync::Mutex;
use std::time::{Duration, Instant};

use usine_core::cluster::{self, ClusterSettings, Connections};
use usine_core::forward::{Forwards, Route};
use usine_core::jobs::targets::Opening;
use usine_core::sessions::{self, Opened, SessionError};
use usine_core::ssh::Questions;
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::{alice_cluster, relayed_alice};
use usine_lab_tests::ssh::scratch_file;

fn store_with(settings: &ClusterSettings) -> Mutex<Store> {
    let store = Store::open(&scratch_file("store").join("usine.sqlite3")).unwrap();
    cluster::add(&store, settings).unwrap();
    Mutex::new(store)
}

fn asking() -> Opening {
    // Key logins ask nothing; a question would be a failure, answered by nobody.
    Opening::Asking(Questions::channel().0)
}

/// The HTTP status of a page through the tunnel.
async fn status_of(url: &str) -> String {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        .output()
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Opens the session as soon as its server answers (what the app's Open does when pressed).
async fn open_when_ready(
    store: &Mutex<Store>,
    connections: &Connections,
    forwards: &Forwards,
    id: &str,
) -> Opened {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match sessions::open(store, connections, forwards, &asking(), id).await {
            Ok(opened) => return opened,
            Err(e @ (SessionError::Starting | SessionError::Waiting(_))) => {
                assert!(Instant::now() < deadline, "not ready after 180 s: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("the session did not open: {e}"),
        }
    }
}

/// One cell through the tunnel, as the browser runs it (kernel over REST, code and output
/// over the websocket). Async: the tunnel is served by this test's runtime.
async fn run_cell(lab: &Lab, url: &str, code: &str) -> String {
    let python = format!("{}/bin/python", lab.var("USINE_LAB_JUPYTER"));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../lab/notebook_cell.py");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python)
            .args([script, url, code])
            .output(),
    )
    .await
    .expect("the cell answers within 2 minutes")
    .unwrap();
    assert!(
        out.status.success(),
        "the cell failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn in_queue(lab: &Lab, job: &str) -> bool {
    !lab.ssh_alice_ok(&format!("squeue -h -j {job} -t PD,R,CG -o %i"))
        .trim()
        .is_empty()
}

async fn a_jupyterlab_session_answers_through_the_tunnel_again_after_a_dropped_link(lab: Lab) {
    let (proxy, settings, connections) = relayed_alice(&lab).await;
    let store = store_with(&settings);
    let forwards = Forwards::default();
    let started = sessions::start(
        &store,
        &connections,
        &asking(),
        &lab.session_request("jupyterlab", &settings.name),
    )
    .await
    .unwrap();
    let job = started.job.scheduler_id.clone().expect("sent at once");
    let opened = open_when_ready(&store, &connections, &forwards, &started.id).await;
    assert_eq!(opened.route, Some(Route::Direct));
    assert!(opened.url.starts_with("http://127.0.0.1:") && opened.url.contains("/lab?token="));
    assert_eq!(run_cell(&lab, &opened.url, "print(6 * 7)").await, "42\n");
    let view = sessions::view(&store, Some(&forwards), &started.id).unwrap();
    assert!(view.ready && view.minutes_left.is_some_and(|m| m <= 10));
    let forward = view
        .forward
        .expect("the forward is listed with its session");
    assert_eq!(forward.job, job);

    // Without the token the server lets nobody in (the node is shared).
    let plain = opened.url.split("/lab?").next().unwrap().to_owned() + "/api/kernels";
    assert_eq!(status_of(&plain).await, "403");
    // A browser opens many connections at once (Jupyter's page, its API, websockets).
    let with_token = format!("{plain}?token={}", opened.url.rsplit('=').next().unwrap());
    let many = futures_util::future::join_all((0..16).map(|_| status_of(&with_token))).await;
    assert!(many.iter().all(|s| s == "200"), "{many:?}");

    // The link drops and comes back: the same page works again, without a new session.
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.restore();
    assert_eq!(run_cell(&lab, &opened.url, "print(7 * 6)").await, "42\n");
    assert_eq!(sessions::list(&store, None).unwrap().len(), 1);
    // Users may not lengthen a running job on the lab, as on most sites: said plainly.
    let extend = sessions::extend(&store, &connections, &asking(), &started.id, 30).await;
    assert!(
        matches!(&extend, Err(SessionError::CannotExtend(..))),
        "{extend:?}"
    );
    assert!(
        extend
            .unwrap_err()
            .to_string()
            .contains("start a new one with more time")
    );

    // An app started again (its forwards gone) finds the running session and opens its way in.
    let after_restart = Forwards::default();
    let mut watch = sessions::Watch::default();
    let (notices, running) = watch.round(&store, &connections, &after_restart).await;
    // Already ready before: no second "ready"; a 10-minute session is about to end, said once.
    assert!(running);
    assert!(
        matches!(notices.as_slice(), [sessions::SessionNotice::EndsSoon(s)] if s.id == started.id),
        "{} notices",
        notices.len()
    );
    assert!(
        watch
            .round(&store, &connections, &after_restart)
            .await
            .0
            .is_empty()
    );
    let reopened = after_restart
        .get(&started.id)
        .expect("the way in is open again");
    let url = format!(
        "http://127.0.0.1:{}/lab?token={}",
        reopened.local_port,
        opened.url.rsplit('=').next().unwrap()
    );
    assert_eq!(run_cell(&lab, &url, "print(6 * 7)").await, "42\n");
    after_restart.close(&started.id);

    let stopped = sessions::stop(&store, &connections, &forwards, &asking(), &started.id)
        .await
        .unwrap();
    assert!(stopped.gpu_hours >= 0.0);
    assert!(forwards.list().is_empty());
    usine_lab_tests::wait_for("the job out of the queue", Duration::from_secs(60), || {
        (!in_queue(&lab, &job)).then_some(())
    });
}

usine_lab_tests::on_every_cluster!(
    a_jupyterlab_session_answers_through_the_tunnel_again_after_a_dropped_link,
    a_waiting_session_says_why_and_where_it_stands,
);

/// A login node with `AllowTcpForwarding no`: the bytes go through `srun --overlap` into the
/// job, and the same cell runs.
#[tokio::test]
async fn without_forwarding_the_session_goes_through_the_job() {
    let lab = Lab::get();
    let port: u16 = lab.var("USINE_LAB_NOFWD_PORT").parse().unwrap();
    let settings = alice_cluster(&lab, "nofwd", port);
    let connections = Connections::new(lab.host_keys_for_port(port));
    let store = store_with(&settings);
    let forwards = Forwards::default();
    let started = sessions::start(
        &store,
        &connections,
        &asking(),
        &lab.session_request("jupyterlab", "nofwd"),
    )
    .await
    .unwrap();
    let opened = open_when_ready(&store, &connections, &forwards, &started.id).await;
    assert!(
        matches!(&opened.route, Some(Route::Relay { program }) if ["socat", "python3", "nc"].contains(&program.as_str())),
        "{:?}",
        opened.route
    );
    assert_eq!(run_cell(&lab, &opened.url, "print(6 * 7)").await, "42\n");
    sessions::stop(&store, &connections, &forwards, &asking(), &started.id)
        .await
        .unwrap();
}

/// TensorBoard on a folder of event files written as a training run writes them: its scalars
/// come back through the tunnel, under the secret path only.
#[tokio::test]
async fn a_tensorboard_session_shows_a_runs_scalars() {
    let lab = Lab::get();
    let folder = format!("~/usine-it/{}", lab.unique("tb"));
    let write = format!(
        "mkdir -p {folder} && {venv}/bin/python -c '
import time
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
w = EventFileWriter(\"'{folder}'\")
for step in range(5):
    w.add_event(Event(step=step, wall_time=time.time(), summary=Summary(value=[Summary.Value(tag=\"loss\", simple_value=1.0 / (step + 1))])))
w.close()'",
        folder = folder.replace('~', "$HOME"),
        venv = lab.var("USINE_LAB_JUPYTER")
    );
    lab.ssh_alice_ok(&write);
    let port: u16 = lab.var("USINE_LAB_SSH_PORT").parse().unwrap();
    let settings = alice_cluster(&lab, "lab", port);
    let connections = Connections::new(lab.host_keys_for_port(port));
    let store = store_with(&settings);
    let forwards = Forwards::default();
    let mut asked = lab.session_request("tensorboard", "lab");
    asked.folder = Some(folder);
    let started = sessions::start(&store, &connections, &asking(), &asked)
        .await
        .unwrap();
    let opened = open_when_ready(&store, &connections, &forwards, &started.id).await;
    let base = opened.url.trim_end_matches('/');
    let deadline = Instant::now() + Duration::from_secs(60);
    let scalars = loop {
        let out = tokio::process::Command::new("curl")
            .args([
                "-sf",
                &format!("{base}/data/plugin/scalars/scalars?run=.&tag=loss"),
            ])
            .output()
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        // TensorBoard reads the folder a few seconds after it starts.
        if out.status.success() && body.starts_with('[') {
            break body;
        }
        assert!(Instant::now() < deadline, "no scalars: {body}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let points: Vec<(f64, u64, f64)> = serde_json::from_str(&scalars).unwrap();
    assert_eq!(points.len(), 5);
    assert_eq!(points[4].1, 4);
    assert!((points[4].2 - 0.2).abs() < 1e-6, "{points:?}");
    // Without the secret path, nothing.
    let root = base.rsplit_once('/').unwrap().0;
    let without = format!("{root}/data/plugin/scalars/scalars?run=.&tag=loss");
    assert_eq!(status_of(&without).await, "404");
    sessions::stop(&store, &connections, &forwards, &asking(), &started.id)
        .await
        .unwrap();
}

/// A session the cluster cannot start yet (its project has no GPU-hours left) says why it
/// waits and where it stands in its partition's queue, from one look of the app's watch.
async fn a_waiting_session_says_why_and_where_it_stands(lab: Lab) {
    let port: u16 = lab.var("USINE_LAB_SSH_PORT").parse().unwrap();
    let settings = alice_cluster(&lab, lab.name(), port);
    let connections = Connections::new(lab.host_keys_for_port(port));
    let store = store_with(&settings);
    let forwards = Forwards::default();
    let mut asked = lab.session_request("jupyterlab", lab.name());
    asked.account = Some(lab.var("USINE_LAB_SPENT_ACCOUNT").into());
    asked.partition = Some("gpu".into());
    asked.gpus = Some(2);
    asked.time_limit_minutes = Some(60);
    let started = sessions::start(&store, &connections, &asking(), &asked)
        .await
        .unwrap();
    let mut watch = sessions::Watch::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        // The tracker's refresh, then the watch's look, as the app does them.
        let _ = sessions::open(&store, &connections, &forwards, &asking(), &started.id).await;
        watch.round(&store, &connections, &forwards).await;
        let view = sessions::view(&store, None, &started.id).unwrap();
        if view.place.is_some() && view.job.waiting_because.is_some() {
            break view;
        }
        assert!(
            Instant::now() < deadline,
            "no place nor reason: {:?}",
            view.job.state
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        waiting
            .job
            .waiting_because
            .unwrap()
            .contains("no GPU-hours left")
    );
    assert!(!waiting.ready && waiting.forward.is_none());
    let opened = sessions::open(&store, &connections, &forwards, &asking(), &started.id).await;
    assert!(matches!(opened, Err(SessionError::Waiting(_))));
    sessions::stop(&store, &connections, &forwards, &asking(), &started.id)
        .await
        .unwrap();
}
