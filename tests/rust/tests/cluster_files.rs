//! The cluster file browser's use cases against the lab's login node: names as bytes, renames
//! that ask, deletes that refuse what is not the person's, previews, a growing log, and a link
//! that drops while browsing.

use std::sync::Mutex;

use usine_core::cluster::Connections;
use usine_core::cluster_files::{
    self as files, EntryKind, FilesError, IfTaken, Listings, Moved, OnCluster, Preview, View, names,
};
use usine_core::error_kind::{ErrorKind, HasKind};
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::{alice_cluster, relayed_alice};
use usine_lab_tests::ssh::{Answers, answering, scratch_file};

struct Alice {
    store: Mutex<Store>,
    connections: Connections,
}

impl Alice {
    fn new(
        lab: &Lab,
        settings: usine_core::cluster::ClusterSettings,
        connections: Connections,
    ) -> Self {
        let store = Store::open(&scratch_file("files").join("db.sqlite3")).unwrap();
        usine_core::cluster::add(&store, &settings).unwrap();
        let _ = lab;
        Alice {
            store: Mutex::new(store),
            connections,
        }
    }

    fn on(&self) -> OnCluster<'_> {
        OnCluster {
            store: &self.store,
            connections: &self.connections,
            cluster: "lab",
            questions: answering(Answers::default()).0,
        }
    }
}

fn alice(lab: &Lab) -> Alice {
    let port = lab.var("USINE_LAB_SSH_PORT").parse().unwrap();
    Alice::new(
        lab,
        alice_cluster(lab, "lab", port),
        Connections::new(lab.host_keys()),
    )
}

/// A fresh folder in alice's home on this machine (the lab's login node is this machine), and
/// its path.
fn folder(tag: &str) -> String {
    let path = format!("/home/alice/usine-it/files-{tag}-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    chown_alice("/home/alice/usine-it");
    path
}

fn chown_alice(path: &str) {
    let ok = std::process::Command::new("chown")
        .args(["-R", "alice:alice", path])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn names_of(page: &files::Page) -> Vec<Vec<u8>> {
    page.entries
        .iter()
        .map(|e| names::decode(&e.name))
        .collect()
}

const ODD: &[&[u8]] = &[
    b"with space.txt",
    b"it's \"quoted\".txt",
    b"new\nline",
    b"-rf",
    b"caf\xe9.csv",
    b"$(touch pwned)",
    b"*",
];

#[tokio::test]
async fn odd_names_are_listed_renamed_and_deleted_byte_for_byte() {
    use std::os::unix::ffi::OsStrExt;
    let lab = Lab::get();
    let a = alice(&lab);
    let dir = folder("odd");
    for name in ODD {
        std::fs::write(
            std::path::Path::new(&dir).join(std::ffi::OsStr::from_bytes(name)),
            name,
        )
        .unwrap();
    }
    chown_alice(&dir);

    let listings = Listings::default();
    let page = files::browse(&a.on(), &listings, &dir, &View::default(), true)
        .await
        .unwrap();
    let mut got = names_of(&page);
    got.sort();
    let mut want: Vec<Vec<u8>> = ODD.iter().map(|n| n.to_vec()).collect();
    want.sort();
    assert_eq!(got, want);
    let latin1 = page
        .entries
        .iter()
        .find(|e| e.shown.as_deref() == Some("caf\\xe9.csv"));
    assert!(latin1.is_some_and(|e| e.yours && e.kind == EntryKind::File && e.size == 8));

    for name in ODD {
        let wire = names::encode(name);
        let new = names::encode(&[b"renamed ", *name].concat());
        let moved = files::rename(&a.on(), &dir, &wire, &new, IfTaken::Ask)
            .await
            .unwrap();
        assert!(matches!(moved, Moved::Done { .. }), "{moved:?}");
        let path = names::encode(&names::join(dir.as_bytes(), &names::decode(&new)));
        let deleted = files::delete(&a.on(), &path, false).await.unwrap();
        assert_eq!(deleted.size.bytes, name.len() as u64);
    }
    let empty = files::browse(&a.on(), &listings, &dir, &View::default(), true)
        .await
        .unwrap();
    assert_eq!(empty.total, 0, "{:?}", names_of(&empty));
    assert!(!std::path::Path::new("/home/alice/pwned").exists());
    assert!(!std::path::Path::new(&dir).join("pwned").exists());
}

#[tokio::test]
async fn a_rename_onto_a_taken_name_asks_then_replaces_when_told() {
    let lab = Lab::get();
    let a = alice(&lab);
    let dir = folder("taken");
    std::fs::write(format!("{dir}/a.txt"), "a").unwrap();
    std::fs::write(format!("{dir}/b.txt"), "b").unwrap();
    chown_alice(&dir);
    let taken = files::rename(&a.on(), &dir, "a.txt", "b.txt", IfTaken::Ask)
        .await
        .unwrap();
    assert!(matches!(&taken, Moved::Taken { shown, .. } if shown.ends_with("/b.txt")));
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/b.txt")).unwrap(),
        "b"
    );
    let bad = files::rename(&a.on(), &dir, "a.txt", "../escape", IfTaken::Ask).await;
    assert!(matches!(bad, Err(FilesError::BadName(_))), "{bad:?}");
    let done = files::rename(&a.on(), &dir, "a.txt", "b.txt", IfTaken::Replace)
        .await
        .unwrap();
    assert!(matches!(done, Moved::Done { .. }));
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/b.txt")).unwrap(),
        "a"
    );
    assert!(!std::path::Path::new(&format!("{dir}/a.txt")).exists());
}

#[tokio::test]
async fn deletes_measure_first_refuse_what_is_not_yours_and_never_follow_links() {
    let lab = Lab::get();
    let a = alice(&lab);
    let dir = folder("delete");
    let outside = folder("delete-outside");
    std::fs::write(format!("{outside}/keep.txt"), "keep").unwrap();
    std::fs::create_dir_all(format!("{dir}/run/logs")).unwrap();
    std::fs::write(format!("{dir}/run/logs/a.log"), vec![b'x'; 1000]).unwrap();
    std::fs::write(format!("{dir}/run/b.bin"), vec![0; 24]).unwrap();
    std::os::unix::fs::symlink(&outside, format!("{dir}/run/elsewhere")).unwrap();
    chown_alice(&dir);

    let run = format!("{dir}/run");
    let size = files::measure(&a.on(), &run).await.unwrap();
    assert_eq!(
        (size.files, size.folders, size.bytes - size.bytes % 1000),
        (3, 2, 1000)
    );
    let refused = files::delete(&a.on(), &run, false).await;
    assert!(
        matches!(refused, Err(FilesError::IsAFolder(_))),
        "{refused:?}"
    );
    let deleted = files::delete(&a.on(), &run, true).await.unwrap();
    assert_eq!(deleted.size.files, 3);
    assert!(!std::path::Path::new(&run).exists());
    assert_eq!(
        std::fs::read_to_string(format!("{outside}/keep.txt")).unwrap(),
        "keep"
    );

    // A folder holding root's file: nothing of it goes.
    std::fs::create_dir_all(format!("{dir}/shared")).unwrap();
    std::fs::write(format!("{dir}/shared/mine.txt"), "m").unwrap();
    chown_alice(&dir);
    std::fs::write(format!("{dir}/shared/roots.txt"), "r").unwrap();
    let refused = files::delete(&a.on(), &format!("{dir}/shared"), true).await;
    let Err(error @ FilesError::NotYours { .. }) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(error.kind(), ErrorKind::Refused);
    assert!(error.to_string().contains("roots.txt"), "{error}");
    assert!(std::path::Path::new(&format!("{dir}/shared/mine.txt")).exists());

    let home = files::delete(&a.on(), "~", true).await;
    assert!(matches!(home, Err(FilesError::Protected(_))), "{home:?}");
    let root = files::delete(&a.on(), "/", true).await;
    assert!(matches!(root, Err(FilesError::Protected(_))), "{root:?}");
}

#[tokio::test]
async fn refusals_and_vanished_folders_say_what_happened() {
    let lab = Lab::get();
    let a = alice(&lab);
    let denied = files::list(&a.on(), "/root").await;
    let Err(error) = denied else {
        panic!("listed /root")
    };
    assert_eq!(error.kind(), ErrorKind::Refused, "{error}");

    let dir = folder("vanish");
    let listings = Listings::default();
    files::browse(&a.on(), &listings, &dir, &View::default(), true)
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let gone = files::browse(&a.on(), &listings, &dir, &View::default(), true).await;
    let Err(error) = gone else {
        panic!("listed a deleted folder")
    };
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");

    let made = files::make_folder(&a.on(), &format!("{dir}/a/b"), false).await;
    assert!(made.is_err());
    files::make_folder(&a.on(), &format!("{dir}/a/b"), true)
        .await
        .unwrap();
    let again = files::make_folder(&a.on(), &format!("{dir}/a/b"), false).await;
    assert!(matches!(again, Err(FilesError::Exists(_))), "{again:?}");
    let places = files::places(&a.on()).await.unwrap();
    let home = places.iter().find(|p| p.kind == "home").unwrap();
    assert_eq!(home.path, "/home/alice");
    assert!(home.free_bytes.is_some_and(|f| f > 0));
}

#[tokio::test]
async fn previews_show_text_tables_and_images_and_a_log_tail_grows() {
    let lab = Lab::get();
    let a = alice(&lab);
    let dir = folder("preview");
    let csv: String = std::iter::once("epoch,loss\n".to_owned())
        .chain((1..=20_000).map(|i| format!("{i},0.{i}\n")))
        .collect();
    std::fs::write(format!("{dir}/loss.csv"), &csv).unwrap();
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../icons/32x32.png"
    ))
    .unwrap();
    std::fs::write(format!("{dir}/plot.png"), &png).unwrap();
    std::fs::write(format!("{dir}/train.log"), "step 1\n").unwrap();
    chown_alice(&dir);

    let Preview::Table { rows, cut, size } = files::preview(&a.on(), &format!("{dir}/loss.csv"))
        .await
        .unwrap()
    else {
        panic!("not a table")
    };
    assert!(cut && size == csv.len() as u64);
    assert_eq!(rows[0], ["epoch", "loss"]);
    assert_eq!(rows[3], ["3", "0.3"]);
    let image = files::preview(&a.on(), &format!("{dir}/plot.png"))
        .await
        .unwrap();
    assert!(
        matches!(&image, Preview::Image { url, size } if url.starts_with("data:image/png;base64,") && *size == png.len() as u64)
    );
    let folder_preview = files::preview(&a.on(), &dir).await;
    assert!(folder_preview.is_err());

    let log = format!("{dir}/train.log");
    let first = files::tail(&a.on(), &log, None).await.unwrap();
    assert_eq!(
        (first.text.as_str(), first.from, first.to),
        ("step 1\n", 0, 7)
    );
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut file, b"step 2\n").unwrap();
    let next = files::tail(&a.on(), &log, Some(first.to)).await.unwrap();
    assert_eq!(
        (next.text.as_str(), next.from, next.restarted),
        ("step 2\n", 7, false)
    );
    std::fs::write(&log, "new run\n").unwrap();
    let rewritten = files::tail(&a.on(), &log, Some(next.to)).await.unwrap();
    assert_eq!(
        (rewritten.text.as_str(), rewritten.restarted),
        ("new run\n", true)
    );
}

#[tokio::test]
async fn the_browser_says_offline_when_the_link_drops_and_recovers_after() {
    let lab = Lab::get();
    let (proxy, settings, connections) = relayed_alice(&lab).await;
    let a = Alice::new(
        &lab,
        usine_core::cluster::ClusterSettings {
            name: "lab".into(),
            ..settings
        },
        connections,
    );
    let dir = folder("offline");
    let listings = Listings::default();
    files::browse(&a.on(), &listings, &dir, &View::default(), true)
        .await
        .unwrap();
    proxy.cut();
    let dropped = files::browse(&a.on(), &listings, &dir, &View::default(), true).await;
    let Err(error) = dropped else {
        panic!("listed through a cut link")
    };
    assert_eq!(error.kind(), ErrorKind::Offline, "{error}");
    // Scrolling what was listed still works offline.
    let kept = files::browse(&a.on(), &listings, &dir, &View::default(), false).await;
    assert!(kept.is_ok(), "{kept:?}");
    proxy.restore();
    let back = files::browse(&a.on(), &listings, &dir, &View::default(), true).await;
    assert!(back.is_ok(), "{back:?}");
}
