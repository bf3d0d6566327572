//! `usine session` and `usine forward` as a person types them: JupyterLab on this computer
//! (no cluster, no tunnel), and a web app of their own on the lab, reached through
//! `usine session open` and through `usine forward JOB PORT`.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::Duration;

use usine_lab_tests::Lab;
use usine_lab_tests::cli::{Sandbox, add_lab_cluster, text};

/// The first `http://` address a command prints, while it keeps running (what it prints
/// afterwards is read too: a closed pipe would end it).
fn address_printed(child: &mut Child) -> String {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if let Some(at) = line.find("http://") {
            std::thread::spawn(move || lines.for_each(drop));
            return line[at..].split_whitespace().next().unwrap().to_owned();
        }
    }
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    panic!("no address printed: {err}");
}

fn curl(url: &str) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sSf", "--max-time", "30", url])
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {url}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn session_id(started: &str) -> String {
    // "Started … as job 123 (ID). Open it with: usine session open ID"
    started.trim().rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn jupyterlab_runs_on_this_computer_before_any_cluster() {
    let lab = Lab::get();
    let sb = Sandbox::new(&lab, false, env!("CARGO_BIN_EXE_usine"));
    assert!(sb.ok(&["session", "kinds"]).contains("jupyterlab"));
    let venv = lab.var("USINE_LAB_JUPYTER");
    let started = sb.ok(&["session", "start", "jupyterlab", "--venv", venv, "--open"]);
    let url = started
        .lines()
        .find_map(|l| l.strip_prefix("Open: "))
        .unwrap_or_else(|| panic!("{started}"));
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/lab?token="));
    let cell = std::process::Command::new(format!("{venv}/bin/python"))
        .args([
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/lab/notebook_cell.py"
            ),
            url,
            "print(6 * 7)",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&cell.stdout), "42\n", "{}", text(&cell.stderr));
    let id = started
        .lines()
        .find(|l| l.starts_with("Started"))
        .map(session_id)
        .unwrap();
    assert!(sb.ok(&["session", "list"]).contains("ready"));
    assert!(sb.ok(&["session", "stop", &id]).contains("0.00 GPU-hours"));
    let port: u16 = url[17..].split('/').next().unwrap().parse().unwrap();
    usine_lab_tests::wait_for("the server stopped", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    });
    let extend = sb.run(&["session", "extend", &id, "30"], "");
    assert!(!extend.status.success());
}

#[test]
fn a_web_app_of_ones_own_opens_and_its_port_forwards_on_the_lab() {
    let lab = Lab::get();
    let sb = Sandbox::new(&lab, true, env!("CARGO_BIN_EXE_usine"));
    let add = add_lab_cluster(&sb, "lab", "alice", &["--key", lab.var("USINE_LAB_KEY")]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    sb.ok(&["cluster", "connect", "lab"]);
    let folder = format!("usine-it/{}", lab.unique("webapp"));
    lab.ssh_alice_ok(&format!(
        "mkdir -p {folder} && echo hello-from-the-node > {folder}/index.html"
    ));
    let started = sb.ok(&[
        "session",
        "start",
        "web-app",
        "--target",
        "lab",
        "--partition",
        "cpu",
        "--account",
        lab.var("USINE_LAB_ACCOUNT"),
        "--time",
        "10",
        "--cpus",
        "1",
        "--command",
        &format!("cd ~/{folder} && exec python3 -m http.server \"$PORT\" --bind \"$BIND\""),
    ]);
    let id = session_id(&started);
    let job = started
        .split("as job ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();

    let mut open = sb.command(&["session", "open", &id]).spawn().unwrap();
    let url = address_printed(&mut open);
    assert_eq!(
        curl(&url.replace("/?token=", "/index.html?token=")),
        "hello-from-the-node\n"
    );

    // The server's port, from the session's private file, forwarded by hand.
    let line = lab.ssh_alice_ok(&format!("cat ~/.usine/sessions/{job}"));
    let port = line.split(' ').nth(1).unwrap().to_owned();
    let mut forward = sb.command(&["forward", job, &port]).spawn().unwrap();
    let forwarded = address_printed(&mut forward);
    assert_eq!(
        curl(&format!("{forwarded}/index.html")),
        "hello-from-the-node\n"
    );
    let wrong = sb.run(&["forward", job, &port, "--node", "elsewhere"], "");
    assert!(
        text(&wrong.stderr).contains("is not running on elsewhere"),
        "{}",
        text(&wrong.stderr)
    );

    for mut child in [forward, open] {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(sb.ok(&["session", "list"]).contains("web-app"));
    sb.ok(&["session", "stop", &id]);
    usine_lab_tests::wait_for("the job gone", Duration::from_secs(60), || {
        lab.ssh_alice_ok(&format!("squeue -h -j {job} -t PD,R -o %i"))
            .trim()
            .is_empty()
            .then_some(())
    });
}
