//! `usine ls`, `mkdir`, `mv` and `rm` against the lab, with the rules a user of the shell's
//! commands expects: `rm` refuses a folder without `-r`, `-f` is quiet about what is missing,
//! `-i` asks, `mv -n` never replaces.

use usine_lab_tests::Lab;
use usine_lab_tests::cli::{Sandbox, add_lab_cluster, text};

fn lab_with_alice(lab: &Lab) -> Sandbox {
    let sb = Sandbox::new(lab, true, env!("CARGO_BIN_EXE_usine"));
    let add = add_lab_cluster(&sb, "lab", "alice", &["--key", lab.var("USINE_LAB_KEY")]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    sb
}

#[test]
fn a_folder_is_made_listed_moved_and_deleted_as_the_shell_would() {
    let lab = Lab::get();
    let sb = lab_with_alice(&lab);
    let base = format!("usine-it/cli-files-{}", std::process::id());
    let at = |p: &str| format!("lab:~/{base}/{p}");
    let run = |args: &[&str], stdin: &str| sb.run(args, stdin);

    let nested = run(&["mkdir", &at("a/b")], "");
    assert!(!nested.status.success(), "mkdir without -p made parents");
    assert!(run(&["mkdir", "-p", &at("a/b")], "").status.success());
    assert!(
        run(&["mkdir", "-p", &at("-dash folder")], "")
            .status
            .success()
    );
    let ls = run(&["ls", &format!("lab:{base}")], "");
    assert!(ls.status.success(), "{}", text(&ls.stderr));
    assert_eq!(
        text(&ls.stdout)
            .lines()
            .map(|l| l.trim_start().split_once("  ").unwrap().1.to_owned())
            .collect::<Vec<_>>(),
        ["-dash folder/", "a/"]
    );

    // mv -n never replaces; a plain mv onto a free name renames.
    assert!(run(&["mv", &at("a"), &at("c")], "").status.success());
    assert!(run(&["mkdir", &at("a")], "").status.success());
    let kept = run(&["mv", "-n", &at("a"), &at("c")], "");
    assert!(!kept.status.success());
    assert!(
        text(&kept.stderr).contains("already exists"),
        "{}",
        text(&kept.stderr)
    );
    let elsewhere = run(&["mv", &at("a"), "other:/tmp/x"], "");
    assert!(
        text(&elsewhere.stderr).contains("one cluster"),
        "{}",
        text(&elsewhere.stderr)
    );

    // rm: a folder needs -r; -i asks and "n" keeps it; -f is quiet about what is gone.
    let folder = run(&["rm", &at("c")], "");
    assert!(!folder.status.success());
    assert!(
        text(&folder.stderr).contains("-r"),
        "{}",
        text(&folder.stderr)
    );
    let declined = run(&["rm", "-r", "-i", &at("c")], "n\n");
    assert!(declined.status.success());
    assert!(
        text(&declined.stderr).contains("files"),
        "{}",
        text(&declined.stderr)
    );
    let json = run(&["--json", "ls", &format!("lab:{base}")], "");
    let page: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(page["total"], 3);
    assert!(
        run(&["rm", "-r", &at("c"), &at("a"), &at("-dash folder")], "")
            .status
            .success()
    );
    let missing = run(&["rm", &at("nothing")], "");
    assert!(!missing.status.success());
    assert!(run(&["rm", "-f", &at("nothing")], "").status.success());
    let home = run(&["rm", "-r", "lab:~"], "");
    assert!(
        text(&home.stderr).contains("storage areas"),
        "{}",
        text(&home.stderr)
    );
    assert!(
        run(&["rm", "-r", &format!("lab:{base}")], "")
            .status
            .success()
    );
    let bare = run(&["ls", "/tmp"], "");
    assert!(
        text(&bare.stderr).contains("CLUSTER:PATH"),
        "{}",
        text(&bare.stderr)
    );
}
