//! Downloads of a job's output folder from the lab: odd names, links that point outside,
//! skipping what is already here, and a link cut in the middle of a large file.

use usine_core::download::download;
use usine_core::ssh::{Connection, quote};
use usine_core::transfer::TransferError;
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::relayed_alice;
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

async fn alice(lab: &Lab) -> Connection {
    let (questions, _) = answering(Answers::default());
    Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap()
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

#[tokio::test]
async fn results_arrive_verified_and_a_second_download_fetches_nothing() {
    let lab = Lab::get();
    let conn = alice(&lab).await;
    let remote = make_results(&conn, "results", 20).await;
    let local = scratch_file("results");
    let report = download(&conn, &remote, &local, |_| {}).await.unwrap();
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

    let again = download(&conn, &remote, &local, |_| {}).await.unwrap();
    assert_eq!((again.bytes_sent, again.verified), (0, 303));
    conn.exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cut_link_resumes_the_large_file_where_it_stopped() {
    let lab = Lab::get();
    let setup = alice(&lab).await;
    // Big enough that the link is cut while the file still streams, even on a loaded machine
    // (progress is reported every 250 ms).
    let remote = make_results(&setup, "cut-down", 160).await;
    let (proxy, settings, connections) = relayed_alice(&lab).await;
    let local = scratch_file("cut-down");
    let (questions, _) = answering(Answers::default());
    let conn = connections.get(&settings, questions).await.unwrap();
    let cutter = proxy.clone();
    let size = 160u64 << 20;
    let cut_after = size / 4;
    let mut cut = false;
    let first = download(&conn, &remote, &local, |p| {
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
    let second = download(&conn, &remote, &local, |_| {}).await.unwrap();
    assert_eq!(second.verified, second.files, "{:?}", second.problems);
    assert!(
        second.bytes_skipped >= cut_after,
        "skipped {}",
        second.bytes_skipped
    );
    assert!(
        second.bytes_sent < size - cut_after + (1 << 20),
        "sent {}",
        second.bytes_sent
    );
    setup
        .exec(&format!("rm -rf {}", quote(&remote)))
        .await
        .unwrap();
}
