//! `usine cluster` and `usine key` against the lab, the way a person uses them: answers are
//! typed on stdin, and each run uses its own data folder and home.

use std::process::{Command, Stdio};

use usine_lab_tests::Lab;
use usine_lab_tests::cli::{Sandbox, add_lab_cluster, text};

fn sandbox(lab: &Lab, trust_lab_hosts: bool) -> Sandbox {
    Sandbox::new(lab, trust_lab_hosts, env!("CARGO_BIN_EXE_usine"))
}

fn add_connect_with_a_one_time_code_and_see_the_cluster(lab: Lab) {
    let sb = sandbox(&lab, true);
    let add = add_lab_cluster(&sb, "lab", "bob", &["--code"]);
    assert!(add.status.success(), "{}", text(&add.stderr));

    let answers = format!("{}\n{}\n", lab.var("USINE_LAB_OTP_PASSWORD"), lab.totp());
    let out = sb.run(&["cluster", "connect", "lab", "--json"], &answers);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The prompts are the server's own, and the secrets are never echoed.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Password:") && stderr.contains("Verification code:"),
        "{stderr}"
    );
    assert!(!stderr.contains(lab.var("USINE_LAB_OTP_PASSWORD")));
    let profile: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = profile["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cpu", "gpu"]);
    let gpu = &profile["partitions"][1];
    // lab24's node has two H100 and two A100: four GPUs, no single type.
    let gpu_type = if lab.name() == "lab" {
        Some("h100")
    } else {
        None
    };
    assert_eq!(
        (gpu["gpusPerNode"].as_u64(), gpu["gpuType"].as_str()),
        (Some(4), gpu_type)
    );
    let account = &profile["accounts"][0];
    assert_eq!(account["name"], lab.var("USINE_LAB_ACCOUNT"));
    assert_eq!(account["gpuMinutesLimit"], 6000);
    assert_eq!(account["maxGpusAtOnce"], 4);

    let list = sb.run(&["cluster", "list"], "");
    let login = format!("bob@127.0.0.1:{}", lab.var("USINE_LAB_SSH_PORT"));
    assert!(text(&list.stdout).contains(&login));
    assert!(sb.run(&["cluster", "forget", "lab"], "").status.success());
    let again = sb.run(&["cluster", "connect", "lab"], "");
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("usine cluster list"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn a_wrong_code_is_reported_and_not_retried() {
    let lab = Lab::get();
    let sb = sandbox(&lab, true);
    add_lab_cluster(&sb, "lab", "bob", &["--code"]);
    let good: u32 = lab.totp().parse().unwrap();
    let wrong = format!("{:06}", (good + 500_000) % 1_000_000);
    // Plenty of answers on stdin: a client that retried would consume them.
    let answers = format!(
        "{pw}\n{wrong}\n{pw}\n{wrong}\n",
        pw = lab.var("USINE_LAB_OTP_PASSWORD")
    );
    let out = sb.run(&["cluster", "connect", "lab"], &answers);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("did not accept the password or one-time code"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Verification code:").count(), 1, "{stderr}");
}

#[test]
fn via_the_bastion_an_unknown_host_is_asked_about_and_no_means_no() {
    let lab = Lab::get();
    let sb = sandbox(&lab, false);
    let key = lab.var("USINE_LAB_KEY");
    add_lab_cluster(
        &sb,
        "lab",
        "alice",
        &["--key", key, "--jump", "alice@127.0.0.1:2200"],
    );
    let refused = sb.run(&["cluster", "connect", "lab"], "no\n");
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("SHA256:") && stderr.contains("port 2200"),
        "{stderr}"
    );
    // Trust the bastion and then the login node: connected, and remembered for next time.
    let ok = sb.run(&["cluster", "connect", "lab", "--json"], "yes\nyes\n");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let quiet = sb.run(&["cluster", "connect", "lab", "--json"], "");
    assert!(quiet.status.success(), "{}", text(&quiet.stderr));
    assert!(!text(&quiet.stderr).contains("never connected"));
}

#[test]
fn a_generated_key_is_explained_for_the_chosen_site() {
    let lab = Lab::get();
    let sb = sandbox(&lab, false);
    let path = sb.home.join(".ssh/id_test");
    // A chosen passphrase cannot be typed without a terminal; the generated one needs the
    // keychain, which `make test` provides (scripts/with-keychain.sh).
    let out = sb.run(
        &[
            "key",
            "generate",
            "--path",
            path.to_str().unwrap(),
            "--site",
            "jupiter",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ssh-ed25519 "), "{stdout}");
    assert!(
        stdout.contains("JuDoor") && stdout.contains("from="),
        "{stdout}"
    );
    assert!(stdout.contains("in your system keychain"), "{stdout}");
    assert!(path.exists() && path.with_extension("pub").exists());
}

#[test]
fn import_from_an_ssh_config_and_connect_through_its_proxy_jump() {
    let lab = Lab::get();
    let sb = sandbox(&lab, true);
    let config = lab.var("USINE_LAB_SSH_CONFIG");
    let out = sb.run(
        &[
            "cluster",
            "import",
            "--config",
            config,
            "lab-alice-via-jump",
            "lab-bob",
            "lab-nothing",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Added lab-alice-via-jump (alice@127.0.0.1:2222)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Added lab-bob (bob@127.0.0.1:2222)"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("No `Host lab-nothing`"),
        "{}",
        text(&out.stderr)
    );

    let list = sb.run(&["cluster", "list", "--json"], "");
    let clusters: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let jump = &clusters[0]["settings"]["jumps"][0];
    assert_eq!(
        (jump["host"].as_str(), jump["port"].as_u64()),
        (Some("127.0.0.1"), Some(2200))
    );

    let connect = sb.run(&["cluster", "connect", "lab-alice-via-jump", "--json"], "");
    assert!(connect.status.success(), "{}", text(&connect.stderr));
    let profile: serde_json::Value = serde_json::from_slice(&connect.stdout).unwrap();
    assert_eq!(profile["storage"][0]["kind"], "home");
    assert_eq!(profile["storage"][0]["path"], "/home/alice");
    assert!(profile["storage"][0]["freeBytes"].as_u64().unwrap() > 0);
}

#[test]
fn certificate_validity_is_shown_before_connecting() {
    let lab = Lab::get();
    let sb = sandbox(&lab, true);
    for (name, key, cert) in [
        ("carol", "USINE_LAB_CERT_KEY", "USINE_LAB_CERT"),
        (
            "carol-old",
            "USINE_LAB_EXPIRED_CERT_KEY",
            "USINE_LAB_EXPIRED_CERT",
        ),
    ] {
        let login = ["--key", lab.var(key), "--certificate", lab.var(cert)];
        assert!(add_lab_cluster(&sb, name, "carol", &login).status.success());
    }
    let list = sb.run(&["cluster", "list", "--json"], "");
    // Seen once in CI: an empty answer. Say why if it happens again.
    assert!(list.status.success(), "{}", text(&list.stderr));
    let views: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let state = |i: usize| {
        views[i]["certificate"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        (state(0), state(1)),
        ("valid".to_owned(), "expired".to_owned())
    );
    assert_eq!(views[1]["certificate"]["validBefore"], 1_577_923_200u64);
    let text_list = text(&sb.run(&["cluster", "list"], "").stdout);
    assert!(
        text_list.contains("carol-old") && text_list.contains("certificate expired: get a new one"),
        "{text_list}"
    );
    let connect = sb.run(&["cluster", "connect", "carol-old"], "");
    assert!(
        text(&connect.stderr).contains("expired on 2020-01-02"),
        "{}",
        text(&connect.stderr)
    );
}

#[test]
fn the_ssh_agent_logs_in_without_a_key_file() {
    let lab = Lab::get();
    let sb = sandbox(&lab, true);
    let socket = sb.home.join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent runs");
    for _ in 0..50 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let added = Command::new("ssh-add")
        .arg(lab.var("USINE_LAB_KEY"))
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(
        add_lab_cluster(&sb, "lab", "alice", &["--agent"])
            .status
            .success()
    );

    let out = sb.run_with(
        &["cluster", "connect", "lab", "--json"],
        "",
        &[("SSH_AUTH_SOCK", socket.as_os_str())],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Without the agent the same login has nothing to offer, and says so.
    let none = sb.run_with(
        &["cluster", "connect", "lab"],
        "",
        &[("SSH_AUTH_SOCK", std::ffi::OsStr::new("/nonexistent"))],
    );
    assert!(!none.status.success());
    assert!(
        text(&none.stderr).contains("No SSH agent is running"),
        "{}",
        text(&none.stderr)
    );
}

#[test]
fn upload_a_folder_then_see_it_in_the_history() {
    let lab = Lab::get();
    let sb = sandbox(&lab, true);
    assert!(
        add_lab_cluster(&sb, "lab", "alice", &["--key", lab.var("USINE_LAB_KEY")])
            .status
            .success()
    );
    let src = sb.home.join("dataset");
    std::fs::create_dir_all(src.join("train")).unwrap();
    for i in 0..50 {
        std::fs::write(src.join(format!("train/{i}.txt")), format!("sample {i}\n")).unwrap();
    }
    let remote = format!("/home/alice/usine-it/cli-{}", std::process::id());
    let out = sb.run(&["upload", "lab", src.to_str().unwrap(), &remote], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The folder goes into the chosen one under its own name, as with `scp -r`.
    assert!(
        text(&out.stdout).contains(&format!("50 of 50 files verified in lab:{remote}/dataset")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        lab.ssh_alice_ok(&format!("cat {remote}/dataset/train/7.txt")),
        "sample 7\n"
    );

    let history = sb.run(&["transfers", "--json"], "");
    let list: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(list[0]["state"], "done");
    assert_eq!(list[0]["verified"], 50);
    let id = list[0]["id"].as_str().unwrap().to_owned();

    // And back: the same files, verified here.
    let back = sb.home.join("back");
    let down = sb.run(
        &[
            "download",
            "lab",
            &format!("{remote}/dataset"),
            back.to_str().unwrap(),
        ],
        "",
    );
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert!(
        text(&down.stdout).contains("50 of 50 files verified"),
        "{}",
        text(&down.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(back.join("dataset/train/7.txt")).unwrap(),
        "sample 7\n"
    );

    // The download is in the same list, file by file, and can be undone.
    let history = sb.run(&["transfers", "--json"], "");
    let list: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(
        (list[0]["direction"].as_str(), list[0]["state"].as_str()),
        (Some("down"), Some("done"))
    );
    let down_id = list[0]["id"].as_str().unwrap().to_owned();
    let shown = sb.run(&["transfers", "show", &down_id], "");
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    let line = shown.lines().find(|l| l.contains("dataset/train/7.txt"));
    assert!(line.is_some_and(|l| l.ends_with("verified")), "{shown}");
    let cancel = sb.run(&["transfers", "cancel", &down_id, "--delete"], "");
    assert!(cancel.status.success(), "{}", text(&cancel.stderr));
    assert!(
        text(&cancel.stdout).contains("Deleted 50 files it had written"),
        "{}",
        text(&cancel.stdout)
    );
    assert!(
        !back.join("dataset").exists(),
        "the folder it made goes too"
    );
    assert!(back.exists(), "the folder chosen to receive stays");

    // Resuming a finished upload sends nothing and verifies again.
    let again = sb.run(&["upload", "--resume", &id, "--json"], "");
    assert!(again.status.success(), "{}", text(&again.stderr));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (report["bytesSent"].as_u64(), report["verified"].as_u64()),
        (Some(0), Some(50))
    );

    // Several sources, as with scp: those of one folder are one upload, side by side there.
    let train = src.join("train");
    let (a, b) = (train.join("1.txt"), train.join("2.txt"));
    let picked = format!("{remote}/picked");
    let args = [
        "upload",
        "lab",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        &picked,
    ];
    let out = sb.run(&args, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("2 of 2 files verified in lab:{picked}")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        lab.ssh_alice_ok(&format!("cat {picked}/2.txt")),
        "sample 2\n"
    );
}

/// A config that includes itself twice (a common slip: `Include ~/.ssh/config` pasted into
/// it) used to grow the import without bound (2 GB in 45 s). It imports at once, says which
/// Includes looped, and the host it names still connects.
#[test]
fn a_config_that_includes_itself_imports_once_and_connects() {
    let lab = Lab::get();
    let sb = sandbox(&lab, true);
    let config = sb.home.join(".ssh/config");
    let lab_config = std::fs::read_to_string(lab.var("USINE_LAB_SSH_CONFIG")).unwrap();
    std::fs::write(
        &config,
        format!("Include ~/.ssh/config\nInclude ~/.ssh/config\n{lab_config}"),
    )
    .unwrap();
    let out = sb.run(&["cluster", "import", "lab-alice-via-jump"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("Added lab-alice-via-jump"), "{said}");
    assert!(said.contains("(a loop)"), "{said}");
    let connect = sb.run(&["cluster", "connect", "lab-alice-via-jump"], "");
    assert!(connect.status.success(), "{}", text(&connect.stderr));
}

/// A newcomer types paths as a shell reads them: `~` is the home here (the key, the folder to
/// send, where results come back) and on the cluster (where the data goes); nothing lands in a
/// folder named `~`. A key path that is not there, or the public half, is said when the
/// cluster is added, with what to do.
#[test]
fn tilde_paths_mean_home_on_both_sides_and_key_mistakes_are_said_at_once() {
    let lab = Lab::get();
    let sb = sandbox(&lab, true);
    std::fs::copy(lab.var("USINE_LAB_KEY"), sb.home.join(".ssh/id_lab")).unwrap();
    let pub_key = format!("{}.pub", lab.var("USINE_LAB_KEY"));
    std::fs::copy(&pub_key, sb.home.join(".ssh/id_lab.pub")).unwrap();

    let missing = add_lab_cluster(&sb, "lab", "alice", &["--key", "~/.ssh/id_nope"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("There is no key file at"),
        "{}",
        text(&missing.stderr)
    );
    let public = add_lab_cluster(&sb, "lab", "alice", &["--key", "~/.ssh/id_lab.pub"]);
    assert!(!public.status.success());
    let said = text(&public.stderr);
    assert!(said.contains("public half"), "{said}");
    assert!(
        said.contains(&sb.home.join(".ssh/id_lab").display().to_string()),
        "{said}"
    );
    let added = add_lab_cluster(&sb, "lab", "alice", &["--key", "~/.ssh/id_lab"]);
    assert!(added.status.success(), "{}", text(&added.stderr));

    let cats = sb.home.join("datasets/cats");
    std::fs::create_dir_all(&cats).unwrap();
    for i in 0..6 {
        std::fs::write(cats.join(format!("cat-{i}.jpg")), format!("meow {i}\n")).unwrap();
    }
    let remote = format!("~/usine-it/tilde-{}/cats", std::process::id());
    let into = format!("~/usine-it/tilde-{}", std::process::id());
    let up = sb.run(&["upload", "lab", "~/datasets/cats", &into], "");
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(
        text(&up.stdout).contains("6 of 6 files verified"),
        "{}",
        text(&up.stdout)
    );
    let there = lab.ssh_alice_ok(&format!(
        "cat ~/usine-it/tilde-{}/cats/cat-3.jpg; ls -a ~ | grep -cx '~' || true",
        std::process::id()
    ));
    assert_eq!(there, "meow 3\n0\n", "in the home, not in a folder named ~");

    let down = sb.run(&["download", "lab", &remote, "~/results"], "");
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(
        std::fs::read_to_string(sb.home.join("results/cats/cat-3.jpg")).unwrap(),
        "meow 3\n"
    );
    lab.ssh_alice_ok(&format!("rm -rf ~/usine-it/tilde-{}", std::process::id()));
}

usine_lab_tests::on_every_cluster!(sync: add_connect_with_a_one_time_code_and_see_the_cluster);
