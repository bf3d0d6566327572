//! Uploads to the lab over Usine's own connection: hostile names, verification, a link cut in
//! the middle, an engine stopped in the middle, and a destination that is too small.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use futures_util::FutureExt;

use usine_core::ssh::{Connection, quote};
use usine_core::store::Store;
use usine_core::transfer::{self, TransferError};
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::{alice_cluster, relayed_alice};
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

fn store() -> Mutex<Store> {
    Mutex::new(Store::open(&scratch_file("store").join("usine.sqlite3")).unwrap())
}

async fn alice(lab: &Lab) -> Connection {
    let (questions, _) = answering(Answers::default());
    Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap()
}

/// Deterministic content of `len` bytes.
fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[0] ^ seed)
        .collect()
}

fn remote_dir(tag: &str) -> String {
    format!("/home/alice/usine-it/{tag}-{}", std::process::id())
}

#[tokio::test]
async fn a_folder_with_hostile_names_arrives_verified() {
    let lab = Lab::get();
    let src = scratch_file("hostile");
    let names = [
        "plain.txt",
        "with space.csv",
        "it's \"quoted\".txt",
        "$(touch pwned)",
        "-rf",
        "new\nline",
        "ünïcödé/ファイル.bin",
        "deep/a/b/c/d.txt",
    ];
    for (i, n) in names.iter().enumerate() {
        let p = src.join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data(1000 + i * 37, i as u8)).unwrap();
    }
    // Large files travel in parts with their name in a frame: hostile there too.
    let large = src.join("ünï dir/-large: it's $(touch pwned).bin");
    std::fs::create_dir_all(large.parent().unwrap()).unwrap();
    std::fs::write(&large, data(20 << 20, 9)).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&src, src.join("loop")).unwrap();

    let conn = alice(&lab).await;
    let store = store();
    let remote = remote_dir("hostile");
    let (id, problems) = transfer::create(&store, "lab", &src, &remote).unwrap();
    assert!(problems.iter().any(|p| p.path == "loop"), "{problems:?}");
    let mut seen = Vec::new();
    let report = transfer::upload(&conn, &store, &id, |p| seen.push(p.bytes_done))
        .await
        .unwrap();
    assert_eq!(report.files, names.len() + 1);
    assert_eq!(report.verified, report.files, "{:?}", report.problems);
    assert!(report.problems.is_empty());
    assert!(
        seen.windows(2).all(|w| w[1] >= w[0]),
        "progress never goes back"
    );
    assert_eq!(seen.last().copied(), Some(report.bytes_sent));

    // Exactly the expected files, and no name was run as a command.
    let listing = conn
        .exec(&format!(
            "cd {} && find . -type f -printf x | wc -c; ls ~/pwned 2>&1",
            quote(&remote)
        ))
        .await
        .unwrap()
        .stdout_text();
    assert!(
        listing.starts_with(&format!("{}\n", names.len() + 1)),
        "{listing}"
    );
    assert!(listing.contains("No such file"), "{listing}");
    let dash = conn
        .exec(&format!("wc -c < {}", quote(&format!("{remote}/-rf"))))
        .await
        .unwrap();
    assert_eq!(dash.stdout_text().trim(), (1000 + 4 * 37).to_string());
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cut_link_resumes_where_it_stopped() {
    let lab = Lab::get();
    let size = 96usize << 20;
    let src = scratch_file("cut");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("model.safetensors"), data(size, 3)).unwrap();
    for i in 0..300 {
        std::fs::write(src.join(format!("shard-{i:04}.json")), data(4096, i as u8)).unwrap();
    }
    let (proxy, settings, connections) = relayed_alice(&lab).await;
    let store = store();
    let remote = remote_dir("cut");
    let (id, _) = transfer::create(&store, "relay", &src, &remote).unwrap();

    let (questions, _) = answering(Answers::default());
    let conn = connections.get(&settings, questions).await.unwrap();
    let cutter = proxy.clone();
    let mut cut_at = 0;
    let first = transfer::upload(&conn, &store, &id, |p| {
        if cut_at == 0 && p.bytes_done > (size as u64) * 6 / 10 {
            cut_at = p.bytes_done;
            cutter.cut();
        }
    })
    .await;
    assert!(
        matches!(first, Err(TransferError::Interrupted(_))),
        "{first:?}"
    );
    assert!(
        first
            .unwrap_err()
            .to_string()
            .contains("Nothing already confirmed is lost")
    );

    proxy.restore();
    let (questions, _) = answering(Answers::default());
    let conn = connections.get(&settings, questions).await.unwrap();
    let second = transfer::upload(&conn, &store, &id, |_| {}).await.unwrap();
    assert_eq!(second.verified, 301, "{:?}", second.problems);
    // The large file continued from its confirmed parts: at most the parts in flight on each
    // channel were sent again.
    let total = size as u64 + 300 * 4096;
    let in_flight = transfer::CHANNELS as u64 * transfer::PART;
    assert!(second.bytes_skipped > 0);
    assert!(
        second.bytes_sent + second.bytes_skipped <= total,
        "re-sent too much: sent {} + skipped {} for {total}",
        second.bytes_sent,
        second.bytes_skipped
    );
    assert!(
        second.bytes_sent <= total - cut_at + in_flight,
        "sent {} after a cut at {cut_at}",
        second.bytes_sent
    );
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_engine_stopped_midway_restarts_from_its_manifest() {
    let lab = Lab::get();
    let src = scratch_file("stop");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..2500 {
        std::fs::write(src.join(format!("img-{i:05}.png")), data(2048, i as u8)).unwrap();
    }
    let conn = alice(&lab).await;
    let store = store();
    let remote = remote_dir("stop");
    let (id, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    // The engine dies in the very report that confirms its first batch: a panic unwinds
    // through the upload and drops every channel's work in flight, as a crash would. (Dropping
    // the future from a `select!` was racy: the other lanes could all finish in the same poll.)
    let confirmed = std::cell::Cell::new(0);
    let crashed = AssertUnwindSafe(transfer::upload(&conn, &store, &id, |p| {
        confirmed.set(p.files_done);
        assert_eq!(p.files_done, 0, "the engine stops here on purpose");
    }))
    .catch_unwind()
    .await;
    assert!(
        crashed.is_err(),
        "the upload should have been stopped midway"
    );
    let confirmed = confirmed.get();
    assert!(
        (1..2500).contains(&confirmed),
        "{confirmed} files confirmed"
    );

    // A new engine (same store) picks up: the confirmed batch is not sent again.
    let again = transfer::upload(&conn, &store, &id, |_| {}).await.unwrap();
    assert_eq!(again.verified, 2500, "{:?}", again.problems);
    assert!(
        again.bytes_skipped >= confirmed as u64 * 2048,
        "skipped {} after {confirmed} files were confirmed",
        again.bytes_skipped
    );
    assert!(
        again.bytes_sent <= (2500 - confirmed as u64) * 2048,
        "sent {} after {confirmed} files were confirmed",
        again.bytes_sent
    );
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_destination_that_is_too_small_is_refused_before_sending() {
    let lab = Lab::get();
    let src = scratch_file("full");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("big.bin"), data(5 << 20, 1)).unwrap();
    let conn = alice(&lab).await;
    let store = store();
    let remote = format!(
        "{}/full-{}",
        lab.var("USINE_LAB_SMALL_DISK"),
        std::process::id()
    );
    let (id, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    let err = transfer::upload(&conn, &store, &id, |_| {})
        .await
        .err()
        .unwrap();
    match &err {
        TransferError::NoSpace {
            needed_mib,
            free_mib,
            ..
        } => assert!(needed_mib > free_mib),
        other => panic!("expected NoSpace, got {other:?}"),
    }
    assert!(err.to_string().contains("scratch"), "{err}");
    // Refused before anything was sent: the history says so, not "running".
    assert_eq!(
        transfer::get(&store, &id).unwrap().state,
        transfer::State::Failed
    );
    let left = conn
        .exec(&format!("ls -A {}", quote(&remote)))
        .await
        .unwrap();
    assert_eq!(left.stdout_text(), "", "nothing was written");
    conn.exec(&format!("rmdir {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn sending_the_same_folder_again_only_sends_what_changed() {
    let lab = Lab::get();
    let src = scratch_file("again");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..200 {
        std::fs::write(src.join(format!("row-{i:03}.csv")), data(3000, i as u8)).unwrap();
    }
    std::fs::write(src.join("weights.bin"), data(20 << 20, 7)).unwrap();
    let conn = alice(&lab).await;
    let store = store();
    let remote = remote_dir("again");
    let (first, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    transfer::upload(&conn, &store, &first, |_| {})
        .await
        .unwrap();

    // Nothing changed: everything is recognised (size and time, like rsync) and verified.
    let (second, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    let report = transfer::upload(&conn, &store, &second, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.bytes_sent, report.verified),
        (0, 201),
        "{:?}",
        report.problems
    );

    // One file changed: only it travels.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(src.join("row-042.csv"), data(5000, 99)).unwrap();
    let (third, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    let report = transfer::upload(&conn, &store, &third, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.bytes_sent, report.verified),
        (5000, 201),
        "{:?}",
        report.problems
    );

    // Every date changed, no content did (a copy, a checkout): the quick check would send it
    // all again; comparing checksums sends nothing.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let (fourth, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    transfer::set_compare(&store, &fourth, transfer::Compare::Checksum).unwrap();
    let report = transfer::upload(&conn, &store, &fourth, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.bytes_sent, report.verified),
        (0, 201),
        "{:?}",
        report.problems
    );
    // A content change of the same size is still caught and sent.
    let mut changed = data(3000, 42);
    changed[0] ^= 0xff;
    std::fs::write(src.join("row-007.csv"), &changed).unwrap();
    let (fifth, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    transfer::set_compare(&store, &fifth, transfer::Compare::Checksum).unwrap();
    let report = transfer::upload(&conn, &store, &fifth, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.bytes_sent, report.verified),
        (3000, 201),
        "{:?}",
        report.problems
    );
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_large_file_whose_part_file_vanished_is_sent_again_and_still_verified() {
    let lab = Lab::get();
    let src = scratch_file("vanish");
    std::fs::create_dir_all(&src).unwrap();
    let bytes = data(64 << 20, 5);
    std::fs::write(src.join("model.bin"), &bytes).unwrap();
    let conn = alice(&lab).await;
    let store = store();
    let remote = remote_dir("vanish");
    let (id, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    // Stop the engine (a crash, as above) once some parts are confirmed...
    let crashed = AssertUnwindSafe(transfer::upload(&conn, &store, &id, |p| {
        assert!(p.bytes_done < 40 << 20, "the engine stops here on purpose");
    }))
    .catch_unwind()
    .await;
    assert!(crashed.is_err(), "the upload should have been stopped");
    let held = transfer::get(&store, &id).unwrap().bytes_confirmed;
    assert!(held > 0, "some parts were confirmed before the stop");
    // ...then someone cleans the folder on the cluster: the confirmed parts are gone.
    let part = format!("{remote}/model.bin{}", transfer::PARTIAL_SUFFIX);
    conn.exec(&format!("rm -f -- {}", quote(&part)))
        .await
        .unwrap();

    let report = transfer::upload(&conn, &store, &id, |_| {}).await.unwrap();
    assert_eq!(report.verified, 1, "{:?}", report.problems);
    assert_eq!(report.bytes_skipped, 0, "nothing counts as held any more");
    assert_eq!(report.bytes_sent, bytes.len() as u64);
    let theirs = conn
        .exec(&format!(
            "sha256sum < {}",
            quote(&format!("{remote}/model.bin"))
        ))
        .await
        .unwrap()
        .stdout_text();
    let ours = std::process::Command::new("sha256sum")
        .arg(src.join("model.bin"))
        .output()
        .unwrap();
    let ours = String::from_utf8_lossy(&ours.stdout);
    assert_eq!(theirs.split(' ').next(), ours.split(' ').next());
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lustre_quota_that_is_too_small_is_refused_with_places_that_fit() {
    let lab = Lab::get();
    let src = scratch_file("quota");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("train.bin"), data(5 << 20, 2)).unwrap();
    let conn = alice(&lab).await;
    let store = store();
    // The cluster as the app knows it: a LUMI account whose scratch area had room at login.
    {
        let guard = store.lock().unwrap();
        let settings = usine_core::cluster::ClusterSettings {
            site: Some("lumi".into()),
            ..alice_cluster(
                &lab,
                "lumi-lab",
                lab.var("USINE_LAB_SSH_PORT").parse().unwrap(),
            )
        };
        usine_core::cluster::add(&guard, &settings).unwrap();
        let profile = usine_core::discovery::ClusterProfile {
            slurm_version: "24.11".into(),
            partitions: vec![],
            accounts: vec![],
            budget_report: None,
            storage: vec![usine_core::discovery::StorageArea {
                kind: "scratch".into(),
                path: "/scratch/project_465000123".into(),
                free_bytes: Some(40 << 40),
            }],
        };
        usine_core::cluster::save_profile(&guard, "lumi-lab", &profile).unwrap();
    }
    // alice may store 2 MiB on the lab's Lustre stand-in; its disk has plenty.
    let remote = format!(
        "{}/quota-{}",
        lab.var("USINE_LAB_LUSTRE"),
        std::process::id()
    );
    let (id, _) = transfer::create(&store, "lumi-lab", &src, &remote).unwrap();
    let err = transfer::upload(&conn, &store, &id, |_| {})
        .await
        .err()
        .unwrap();
    let text = err.to_string();
    match &err {
        TransferError::NoSpace {
            needed_mib, limit, ..
        } => {
            assert_eq!(*needed_mib, 5);
            assert_eq!(limit, "the user alice quota");
        }
        other => panic!("expected NoSpace, got {other:?}"),
    }
    assert!(
        text.contains("/scratch/project_465000123 (40960 GiB free)"),
        "{text}"
    );
    assert!(
        text.contains("/flash/<project>"),
        "the catalogue's list too: {text}"
    );
    let left = conn
        .exec(&format!("ls -A {}", quote(&remote)))
        .await
        .unwrap();
    assert_eq!(left.stdout_text(), "", "nothing was written");
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_disk_that_fills_up_midway_keeps_what_arrived_whole_and_marks_the_rest() {
    let lab = Lab::get();
    let src = scratch_file("fills");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..300 {
        std::fs::write(src.join(format!("rec-{i:03}.json")), data(1024, i as u8)).unwrap();
    }
    let conn = alice(&lab).await;
    let store = store();
    let remote = format!(
        "{}/fills-{}",
        lab.var("USINE_LAB_SMALL_DISK"),
        std::process::id()
    );
    // Listed at 300 KiB (it fits the 2 MiB disk), the files then grow to 3.6 MB: the disk
    // fills up during the upload, as when someone else writes there meanwhile.
    let (id, _) = transfer::create(&store, "lab", &src, &remote).unwrap();
    for i in 0..300 {
        std::fs::write(
            src.join(format!("rec-{i:03}.json")),
            data(12 << 10, i as u8),
        )
        .unwrap();
    }
    let result = transfer::upload(&conn, &store, &id, |_| {}).await;
    // What the cluster holds, then the shared small disk is emptied before anything is asserted.
    let listing = conn
        .exec(&format!(
            "cd {} && for f in *; do printf '%s %s\\n' \"$f\" \"$(sha256sum < \"$f\" | cut -c1-64)\"; done",
            quote(&remote)
        ))
        .await
        .unwrap()
        .stdout_text();
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
    let err = result.err().unwrap();
    assert!(matches!(err, TransferError::Full(_)), "{err:?}");
    assert!(err.to_string().contains("filled up"), "{err}");

    // Every file under its own name is complete; the others carry the incomplete mark.
    let (mut whole, mut marked) = (0, 0);
    for line in listing.lines() {
        let (name, hash) = line.split_once(' ').unwrap();
        if let Some(original) = name.strip_suffix(transfer::PARTIAL_SUFFIX) {
            assert!(original.starts_with("rec-"), "{line}");
            marked += 1;
            continue;
        }
        let ours = std::process::Command::new("sha256sum")
            .arg(src.join(name))
            .output()
            .unwrap();
        assert_eq!(
            Some(hash),
            String::from_utf8_lossy(&ours.stdout).split(' ').next(),
            "{name} is under its own name but incomplete"
        );
        whole += 1;
    }
    assert!(whole > 0 && marked > 0, "{whole} whole, {marked} marked");
    let summary = transfer::get(&store, &id).unwrap();
    assert!(
        summary.bytes_confirmed > 0,
        "what arrived whole is confirmed"
    );
    // Refused by the cluster's disk: it says so, instead of "running" for ever.
    assert_eq!(summary.state, transfer::State::Failed);
}

/// The upload a killed process was running: started by a child copy of this test, killed with
/// SIGKILL once the cluster has confirmed part of it. Its progress report is slowed down so the
/// kill comes before the end.
#[tokio::test]
async fn the_same_upload_run_again_after_a_crash_continues_where_it_stopped() {
    if let Ok(args) = std::env::var("USINE_CRASHING_UPLOAD") {
        let (db, src, dest) = {
            let mut parts = args.split('\n');
            let mut next = || parts.next().unwrap().to_owned();
            (next(), next(), next())
        };
        let lab = Lab::get();
        let store = Mutex::new(Store::open(std::path::Path::new(&db)).unwrap());
        let started = transfer::start(&store, "lab", std::path::Path::new(&src), &dest).unwrap();
        let conn = alice(&lab).await;
        transfer::upload(&conn, &store, &started.id, |_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
        })
        .await
        .unwrap();
        return;
    }
    let lab = Lab::get();
    let src = scratch_file("crashed-upload");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("weights.bin"), data(160 << 20, 3)).unwrap();
    std::fs::write(src.join("config.json"), data(2000, 4)).unwrap();
    let db = scratch_file("store").join("usine.sqlite3");
    // `~` is the cluster's home, as for scp, not a folder named `~`.
    let tag = format!("crashed-{}", std::process::id());
    let dest = format!("~/usine-it/{tag}");
    drop(Store::open(&db).unwrap());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_same_upload_run_again_after_a_crash_continues_where_it_stopped",
        ])
        .env(
            "USINE_CRASHING_UPLOAD",
            format!("{}\n{}\n{dest}", db.display(), src.display()),
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let store = Mutex::new(Store::open(&db).unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let id = loop {
        let running = transfer::list(&store).unwrap();
        if let Some(t) = running.first()
            && t.bytes_confirmed > 0
        {
            break t.id.clone();
        }
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        assert!(std::time::Instant::now() < deadline, "nothing confirmed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let crashed = transfer::get(&store, &id).unwrap();
    assert_eq!(
        crashed.state,
        transfer::State::Interrupted,
        "not running for ever"
    );
    assert!(
        crashed.bytes_confirmed < crashed.bytes,
        "killed before the end"
    );

    // The same source and destination again: the same transfer continues.
    let again = transfer::start(&store, "lab", &src, &dest).unwrap();
    assert_eq!(again.id, id);
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        again.place,
        format!("{dest}/{name}"),
        "into the folder, by its name"
    );
    let held = again.continued.unwrap().bytes_confirmed;
    assert!(held > 0);
    let conn = alice(&lab).await;
    let report = transfer::upload(&conn, &store, &id, |_| {}).await.unwrap();
    assert_eq!((report.verified, report.files), (2, 2), "{report:?}");
    assert!(report.bytes_skipped >= held, "{report:?}");
    assert!(
        report.bytes_sent < 160 << 20,
        "not sent again whole: {report:?}"
    );
    assert_eq!(
        transfer::get(&store, &id).unwrap().state,
        transfer::State::Done
    );
    let there = lab.ssh_alice_ok(&format!(
        "sha256sum < ~/usine-it/{tag}/{name}/weights.bin; ls -a ~ | grep -cx '~' || true"
    ));
    let ours = std::process::Command::new("sha256sum")
        .arg(src.join("weights.bin"))
        .output()
        .unwrap();
    let mut lines = there.lines();
    assert_eq!(
        lines.next().unwrap().split(' ').next(),
        String::from_utf8_lossy(&ours.stdout).split(' ').next()
    );
    assert_eq!(lines.next(), Some("0"), "no folder named ~ in the home");
    lab.ssh_alice_ok(&format!("rm -rf ~/usine-it/{tag}"));
    // A finished upload is not continued: the same command later is a new transfer.
    let later = transfer::start(&store, "lab", &src, &dest).unwrap();
    assert!(later.continued.is_none() && later.id != id);
}

#[tokio::test]
async fn cancel_with_delete_removes_what_the_upload_sent_and_never_what_was_there() {
    let lab = Lab::get();
    let store = store();
    let conn = alice(&lab).await;
    let port = lab.var("USINE_LAB_SSH_PORT").parse().unwrap();
    usine_core::cluster::add(&store.lock().unwrap(), &alice_cluster(&lab, "lab", port)).unwrap();
    let src = scratch_file("cancel-up").join("data");
    for (rel, len) in [("a.txt", 10), ("sub/-rf", 20), ("big.bin", 20 << 20)] {
        std::fs::create_dir_all(src.join(rel).parent().unwrap()).unwrap();
        std::fs::write(src.join(rel), data(len, len as u8)).unwrap();
    }
    std::fs::write(src.join("kept.txt"), "kept\n".repeat(60)).unwrap();
    // The cluster already holds kept.txt as it is here (same size and time), and a file of its
    // own beside it.
    let remote = remote_dir("cancel-up");
    let mtime = std::fs::metadata(src.join("kept.txt"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let setup = format!(
        "mkdir -p {r}/data && yes kept | head -n 60 > {r}/data/kept.txt && touch -d @{mtime} {r}/data/kept.txt && echo theirs > {r}/data/theirs.txt",
        r = quote(&remote)
    );
    let out = conn.exec(&setup).await.unwrap();
    assert!(out.success(), "{}", out.stderr_text());

    let started = transfer::begin(&store, "lab", &src, &remote, transfer::Compare::Quick).unwrap();
    let report = transfer::upload(&conn, &store, &started.id, |_| {})
        .await
        .unwrap();
    assert_eq!(report.verified, 4, "{:?}", report.problems);
    let page = transfer::files(&store, &started.id, 0, 10).unwrap();
    let state_of = |rel: &str| page.files.iter().find(|f| f.path == rel).map(|f| f.state);
    assert_eq!(
        state_of("kept.txt"),
        Some(transfer::FileState::AlreadyThere)
    );
    assert_eq!(state_of("sub/-rf"), Some(transfer::FileState::Verified));
    assert_eq!(state_of("big.bin"), Some(transfer::FileState::Verified));

    let (questions, _) = answering(Answers::default());
    let connections = usine_core::cluster::Connections::new(lab.host_keys());
    let cancelled = transfer::cancel(&connections, &store, &started.id, true, questions)
        .await
        .unwrap();
    assert_eq!(cancelled.deleted, 3, "{:?}", cancelled.problems);
    assert_eq!(cancelled.bytes_deleted, 10 + 20 + (20 << 20));
    let left = conn
        .exec(&format!("cd {} && find . | sort", quote(&remote)))
        .await
        .unwrap();
    assert_eq!(
        left.stdout_text(),
        ".\n./data\n./data/kept.txt\n./data/theirs.txt\n",
        "only what the upload sent is gone"
    );
    assert_eq!(
        transfer::get(&store, &started.id).unwrap().state,
        transfer::State::Cancelled
    );
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

/// Files picked together in a folder (a drop of a selection): one upload that sends those
/// and nothing of their neighbours, each landing under its own name in the chosen folder.
#[tokio::test]
async fn items_picked_together_land_side_by_side_and_their_neighbours_stay_home() {
    let lab = Lab::get();
    let src = scratch_file("picked");
    std::fs::create_dir_all(src.join("run 1")).unwrap();
    for (i, name) in ["a.csv", "-b.csv", "left here.csv", "run 1/log.txt"]
        .iter()
        .enumerate()
    {
        std::fs::write(src.join(name), data(500 + i, i as u8)).unwrap();
    }
    let store = store();
    let remote = remote_dir("picked");
    let chosen = [src.join("a.csv"), src.join("-b.csv"), src.join("run 1")];
    let started =
        transfer::begin_many(&store, "lab", &chosen, &remote, transfer::Compare::Quick).unwrap();
    assert_eq!(started.len(), 1, "one folder, one upload");
    let conn = alice(&lab).await;
    let report = transfer::upload(&conn, &store, &started[0].id, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.files, report.verified),
        (3, 3),
        "{:?}",
        report.problems
    );
    let listing = conn
        .exec(&format!("cd {} && find . -type f | sort", quote(&remote)))
        .await
        .unwrap()
        .stdout_text();
    assert_eq!(listing, "./-b.csv\n./a.csv\n./run 1/log.txt\n");
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

/// Names that are not UTF-8 (a Latin-1 folder, a small and a large file in it) go under their
/// exact bytes, are verified, are found unchanged by the next run, and "cancel and delete"
/// finds them on the cluster.
#[tokio::test]
async fn names_that_are_not_text_go_byte_for_byte() {
    use std::os::unix::ffi::OsStrExt;
    let lab = Lab::get();
    let src = scratch_file("latin1-up");
    let folder = src.join(std::ffi::OsStr::from_bytes(b"r\xe9sultats"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join(std::ffi::OsStr::from_bytes(b"caf\xe9.csv")),
        b"petit",
    )
    .unwrap();
    std::fs::write(
        folder.join(std::ffi::OsStr::from_bytes(b"gros\xff.bin")),
        data(17 << 20, 5),
    )
    .unwrap();
    let store = store();
    let port = lab.var("USINE_LAB_SSH_PORT").parse().unwrap();
    usine_core::cluster::add(&store.lock().unwrap(), &alice_cluster(&lab, "lab", port)).unwrap();
    let remote = remote_dir("latin1-up");
    let (id, problems) = transfer::create(&store, "lab", &src, &remote).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let conn = alice(&lab).await;
    let report = transfer::upload(&conn, &store, &id, |_| {}).await.unwrap();
    assert_eq!(
        (report.files, report.verified),
        (2, 2),
        "{:?}",
        report.problems
    );
    let listing = conn
        .exec(&format!(
            "cd {} && find . -type f | sort | od -c",
            quote(&remote)
        ))
        .await
        .unwrap()
        .stdout_text();
    // 351 is é in Latin-1, 377 the byte 0xFF: the names' own bytes, not replacements.
    assert!(listing.contains("r 351   s   u   l"), "{listing}");
    assert!(listing.contains("g   r   o   s 377"), "{listing}");

    let again = transfer::upload(&conn, &store, &id, |_| {}).await.unwrap();
    assert_eq!((again.bytes_sent, again.verified), (0, 2));
    let shown: Vec<String> = transfer::files(&store, &id, 0, 10)
        .unwrap()
        .files
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(
        shown,
        ["r\\xe9sultats/caf\\xe9.csv", "r\\xe9sultats/gros\\xff.bin"]
    );

    let (questions, _) = answering(Answers::default());
    let connections = usine_core::cluster::Connections::new(lab.host_keys());
    let cancelled = transfer::cancel(&connections, &store, &id, true, questions)
        .await
        .unwrap();
    assert_eq!(cancelled.deleted, 2, "{:?}", cancelled.problems);
    let left = conn
        .exec(&format!("find {} -type f | wc -l", quote(&remote)))
        .await
        .unwrap();
    assert_eq!(left.stdout_text().trim(), "0");
}
