//! Downloads of a job's output folder from the lab: odd names, links that point outside,
//! skipping what is already here, and a link cut in the middle of a large file.

use std::sync::Mutex;

use usine_core::download;
use usine_core::ssh::{Connection, quote};
use usine_core::store::Store;
use usine_core::transfer::{self, Direction, FileState, Progress, Report, State, TransferError};
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::relayed_alice;
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

async fn alice(lab: &Lab) -> Connection {
    let (questions, _) = answering(Answers::default());
    Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap()
}

fn store() -> Mutex<Store> {
    Mutex::new(Store::open(&scratch_file("store").join("usine.sqlite3")).unwrap())
}

/// One run of the download of `remote` into `into`, recorded in a store of its own (a second
/// call with the same store continues the same download).
async fn download(
    conn: &Connection,
    store: &Mutex<Store>,
    remote: &str,
    into: &std::path::Path,
    on_progress: impl FnMut(&Progress) + Send,
) -> Result<Report, TransferError> {
    let id = download::begin(store, "lab", remote, into)?;
    download::download(conn, store, &id, on_progress).await
}

/// A job-output-like folder on the cluster; returns its path.
async fn make_results(conn: &Connection, tag: &str, big_mib: u32) -> String {
    let dir = format!("/home/alice/usine-it/{tag}-{}", std::process::id());
    let script = format!(
        "rm -rf {d} && mkdir -p {d}/logs {d}/ckpt && cd {d} && \
         for i in $(seq 1 300); do echo \"epoch $i loss 0.$i\" > logs/step-$i.txt; done && \
         printf 'a' > 'with space.txt' && printf 'b' > \"$(printf 'new\\nline')\" && \
         head -c {big_mib}M /dev/urandom > ckpt/model.pt && ln -s /etc/passwd leak",
        d = quote(&dir)
    );
    let out = conn.exec(&script).await.unwrap();
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

/// Where a cluster folder lands in `into`: under its own name.
fn landing(into: &std::path::Path, remote: &str) -> std::path::PathBuf {
    into.join(remote.rsplit('/').next().unwrap())
}

#[tokio::test]
async fn results_arrive_verified_and_a_second_download_fetches_nothing() {
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let remote = make_results(&conn, "results", 20).await;
    let into = scratch_file("results");
    let report = download(&conn, &store, &remote, &into, |_| {})
        .await
        .unwrap();
    // The folder comes into the chosen one under its own name, as with `scp -r`.
    let local = landing(&into, &remote);
    assert_eq!(report.place, local.display().to_string());
    assert_eq!(report.files, 303, "{:?}", report.problems);
    assert_eq!(report.verified, 303, "{:?}", report.problems);
    assert!(report.problems.is_empty());
    assert_eq!(
        std::fs::read_to_string(local.join("logs/step-7.txt")).unwrap(),
        "epoch 7 loss 0.7\n"
    );
    assert_eq!(std::fs::read(local.join("new\nline")).unwrap(), b"b");
    assert!(
        !local.join("leak").exists(),
        "a link to outside the folder must not be followed"
    );
    assert_eq!(
        std::fs::metadata(local.join("ckpt/model.pt"))
            .unwrap()
            .len(),
        20 << 20
    );

    let again = download(&conn, &store, &remote, &into, |_| {})
        .await
        .unwrap();
    assert_eq!((again.bytes_sent, again.verified), (0, 303));
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cut_link_resumes_the_large_file_with_the_parts_it_lacks() {
    let lab = Lab::get();
    let store = store();
    let setup = alice(&lab).await;
    // Big enough that the link is cut while the file still streams, even on a loaded machine
    // (progress is reported every 250 ms).
    let remote = make_results(&setup, "cut-down", 160).await;
    let (proxy, settings, connections) = relayed_alice(&lab).await;
    let into = scratch_file("cut-down");
    let local = landing(&into, &remote);
    let (questions, _) = answering(Answers::default());
    let conn = connections.get(&settings, questions).await.unwrap();
    let cutter = proxy.clone();
    let size = 160u64 << 20;
    let cut_after = size / 2;
    // Parts travel on several channels at once: those in flight when the link drops are lost.
    let in_flight = download::CHANNELS as u64 * usine_core::transfer::PART;
    let mut cut = false;
    let first = download(&conn, &store, &remote, &into, |p| {
        if !cut && p.current.as_deref() == Some("ckpt/model.pt") && p.bytes_done > cut_after {
            cut = true;
            cutter.cut();
        }
    })
    .await;
    assert!(
        matches!(first, Err(TransferError::Interrupted(_))),
        "{first:?}"
    );
    assert!(
        local.join("ckpt/model.pt.usine-part").exists(),
        "the part is kept, and marked as a part"
    );
    assert!(
        !local.join("ckpt/model.pt").exists(),
        "an incomplete file never takes the real name"
    );

    proxy.restore();
    let (questions, _) = answering(Answers::default());
    let conn = connections.get(&settings, questions).await.unwrap();
    let second = download(&conn, &store, &remote, &into, |_| {})
        .await
        .unwrap();
    assert_eq!(second.verified, second.files, "{:?}", second.problems);
    assert!(
        second.bytes_skipped >= cut_after - in_flight,
        "skipped {}",
        second.bytes_skipped
    );
    assert!(
        second.bytes_sent <= size - (cut_after - in_flight),
        "sent {}",
        second.bytes_sent
    );
    setup
        .exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

/// Links in the folder the user chose (one for a file the cluster sends, one for a subfolder)
/// are never written through: the files behind them stay untouched, each is named with the
/// reason, and every other file still arrives verified. The cluster folder is given as `~/…`.
#[cfg(unix)]
#[tokio::test]
async fn links_in_the_download_folder_are_not_followed_and_the_rest_arrives() {
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let remote = make_results(&conn, "links-here", 20).await;
    let into = scratch_file("links-here");
    let local = landing(&into, &remote);
    let outside = scratch_file("outside");
    std::fs::create_dir_all(local.join("ckpt")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious.pt"), "mine").unwrap();
    std::os::unix::fs::symlink(outside.join("precious.pt"), local.join("ckpt/model.pt")).unwrap();
    std::os::unix::fs::symlink(&outside, local.join("logs")).unwrap();
    let tilde = remote.replacen("/home/alice", "~", 1);
    let report = download(&conn, &store, &tilde, &into, |_| {})
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(outside.join("precious.pt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "nothing written into the linked folder"
    );
    let refused: Vec<&str> = report.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        refused.len(),
        301,
        "the large file and the 300 logs: {refused:?}"
    );
    assert!(refused.contains(&"ckpt/model.pt"));
    let said = &report.problems[0].problem;
    assert!(said.contains("link"), "{said}");
    assert_eq!(report.verified, 2, "the two other files arrive: {report:?}");
    assert_eq!(std::fs::read(local.join("with space.txt")).unwrap(), b"a");
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_single_file_lands_in_the_chosen_folder_itself() {
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let remote = make_results(&conn, "one-file", 1).await;
    let into = scratch_file("one-file");
    let report = download(
        &conn,
        &store,
        &format!("{remote}/with space.txt"),
        &into,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        (report.files, report.verified),
        (1, 1),
        "{:?}",
        report.problems
    );
    assert_eq!(std::fs::read(into.join("with space.txt")).unwrap(), b"a");
    assert_eq!(std::fs::read_dir(&into).unwrap().count(), 1);
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

/// A large file is checked part by part as it arrives; one that changes on the cluster while it
/// comes is named as a problem and never takes its real name here.
#[tokio::test]
async fn a_large_file_that_changes_on_the_cluster_meanwhile_is_not_kept_as_done() {
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let remote = make_results(&conn, "changing", 40).await;
    let into = scratch_file("changing");
    let model = format!("{remote}/ckpt/model.pt");
    let mut touched = false;
    let report = download(&conn, &store, &remote, &into, |p| {
        if !touched && p.current.as_deref() == Some("ckpt/model.pt") {
            touched = true;
            let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
            let file = std::fs::File::options().append(true).open(&model).unwrap();
            file.set_modified(later).unwrap();
        }
    })
    .await
    .unwrap();
    assert!(touched);
    let problem = report.problems.iter().find(|p| p.path == "ckpt/model.pt");
    assert!(
        problem.is_some_and(|p| p.problem.contains("changed")),
        "{:?}",
        report.problems
    );
    assert_eq!(report.verified, report.files - 1);
    assert!(!landing(&into, &remote).join("ckpt/model.pt").exists());
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_report_names_each_file_and_cancel_with_delete_removes_only_what_came() {
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let remote = make_results(&conn, "cancel-down", 20).await;
    let into = scratch_file("cancel-down");
    let local = landing(&into, &remote);
    let name = local.file_name().unwrap().to_string_lossy().into_owned();
    // Already here and identical (not fetched), the person's own file, and a link where the
    // cluster has a file (refused, named in the report).
    std::fs::create_dir_all(local.join("logs")).unwrap();
    std::fs::write(local.join("logs/step-1.txt"), "epoch 1 loss 0.1\n").unwrap();
    std::fs::write(local.join("notes-of-mine.txt"), "mine").unwrap();
    std::os::unix::fs::symlink("/tmp", local.join("with space.txt")).unwrap();

    let id = download::begin(&store, "lab", &remote, &into).unwrap();
    let report = download::download(&conn, &store, &id, |_| {})
        .await
        .unwrap();
    assert_eq!(report.transfer_id, id);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);

    let summary = transfer::get(&store, &id).unwrap();
    assert_eq!(summary.direction, Direction::Down);
    assert_eq!(summary.state, State::Failed, "a file had a problem");
    let page = transfer::files(&store, &id, 0, 10).unwrap();
    assert_eq!((page.total, page.problems), (303, 1));
    assert_eq!(page.files[0].path, format!("{name}/with space.txt"));
    assert_eq!(page.files[0].state, FileState::Problem);
    let all = transfer::files(&store, &id, 0, 1000).unwrap().files;
    let state_of = |rel: &str| {
        let path = format!("{name}/{rel}");
        all.iter().find(|f| f.path == path).map(|f| f.state)
    };
    assert_eq!(state_of("logs/step-1.txt"), Some(FileState::AlreadyThere));
    assert_eq!(state_of("logs/step-2.txt"), Some(FileState::Verified));
    assert_eq!(state_of("ckpt/model.pt"), Some(FileState::Verified));

    let (questions, _) = answering(Answers::default());
    let connections = usine_core::cluster::Connections::new(lab.host_keys());
    let cancelled = transfer::cancel(&connections, &store, &id, true, questions)
        .await
        .unwrap();
    assert_eq!(cancelled.deleted, 301, "{:?}", cancelled.problems);
    let logs: u64 = (2..=300)
        .map(|i| format!("epoch {i} loss 0.{i}\n").len() as u64)
        .sum();
    assert_eq!(cancelled.bytes_deleted, (20 << 20) + logs + 1);
    assert!(
        local.join("logs/step-1.txt").exists(),
        "what was here stays"
    );
    assert!(local.join("notes-of-mine.txt").exists());
    assert!(!local.join("logs/step-2.txt").exists());
    assert!(!local.join("ckpt").exists(), "a folder it emptied goes");
    assert_eq!(transfer::get(&store, &id).unwrap().state, State::Cancelled);
    // A cancelled download is not continued: the same one again starts afresh.
    assert_ne!(download::begin(&store, "lab", &remote, &into).unwrap(), id);
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_file_the_cluster_cannot_read_is_named_and_the_others_arrive() {
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let remote = make_results(&conn, "unreadable", 1).await;
    let out = conn
        .exec(&format!("chmod 000 {}/logs/step-5.txt", quote(&remote)))
        .await
        .unwrap();
    assert!(out.success());
    let into = scratch_file("unreadable");
    let report = download(&conn, &store, &remote, &into, |_| {})
        .await
        .unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].path, "logs/step-5.txt");
    assert!(
        report.problems[0].problem.contains("could not read"),
        "{}",
        report.problems[0].problem
    );
    assert_eq!(report.verified, 302);
    let local = landing(&into, &remote);
    assert!(!local.join("logs/step-5.txt").exists());
    assert_eq!(
        std::fs::read_to_string(local.join("logs/step-6.txt")).unwrap(),
        "epoch 6 loss 0.6\n"
    );
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

/// Names that are not UTF-8 (a Latin-1 `café` folder and files, small and large): they come
/// under their exact bytes, verified, and "cancel and delete" finds them again.
#[tokio::test]
async fn names_that_are_not_text_come_byte_for_byte() {
    use std::os::unix::ffi::OsStrExt;
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let remote = format!("/home/alice/usine-it/latin1-{}", std::process::id());
    let script = format!(
        "rm -rf {d} && mkdir -p {d} && cd {d} && mkdir \"$(printf 'r\\351sultats')\" && \
         printf 'petit' > \"$(printf 'r\\351sultats/caf\\351.csv')\" && \
         head -c 17M /dev/urandom > \"$(printf 'gros\\377.bin')\"",
        d = quote(&remote)
    );
    let out = conn.exec(&script).await.unwrap();
    assert!(out.success(), "{}", out.stderr_text());
    let into = scratch_file("latin1");
    let id = download::begin(&store, "lab", &remote, &into).unwrap();
    let report = download::download(&conn, &store, &id, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.files, report.verified),
        (2, 2),
        "{:?}",
        report.problems
    );
    let local = landing(&into, &remote);
    let small = local
        .join(std::ffi::OsStr::from_bytes(b"r\xe9sultats"))
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.csv"));
    assert_eq!(std::fs::read(&small).unwrap(), b"petit");
    let large = local.join(std::ffi::OsStr::from_bytes(b"gros\xff.bin"));
    assert_eq!(std::fs::metadata(&large).unwrap().len(), 17 << 20);

    let (questions, _) = answering(Answers::default());
    let connections = usine_core::cluster::Connections::new(lab.host_keys());
    let cancelled = transfer::cancel(&connections, &store, &id, true, questions)
        .await
        .unwrap();
    assert_eq!(cancelled.deleted, 2, "{:?}", cancelled.problems);
    assert!(!small.exists() && !large.exists());
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}
