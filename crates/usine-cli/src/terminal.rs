//! Answers the SSH layer's questions in the terminal: host keys, one-time codes, passphrases.
//! Secrets are read without echo when stdin is a terminal, and never printed.

use std::io::{BufRead, IsTerminal, Write};

use usine_core::ssh::{Answer, QuestionKind, Questions};
use zeroize::Zeroizing;

/// A question channel answered on stdin/stderr by a blocking thread (prompts block anyway).
pub fn questions() -> Questions {
    let (questions, mut rx) = Questions::channel();
    std::thread::spawn(move || {
        while let Some(q) = rx.blocking_recv() {
            let answer = ask(&q.kind);
            q.answer(answer);
        }
    });
    questions
}

fn ask(kind: &QuestionKind) -> Answer {
    match kind {
        QuestionKind::UnknownHostKey {
            host,
            port,
            algorithm,
            fingerprint,
        } => {
            eprintln!(
                "Usine has never connected to {host} (port {port}) before.\n\
                 Its identity key ({algorithm}) has the fingerprint\n    {fingerprint}\n\
                 Compare it with the one your site publishes (its documentation or welcome e-mail)."
            );
            match read_line("Is this the right fingerprint? Type yes to trust it: ") {
                Some(a) if a.trim().eq_ignore_ascii_case("yes") => Answer::Trust,
                _ => Answer::Cancel,
            }
        }
        QuestionKind::KeyboardInteractive {
            destination,
            instructions,
            prompts,
            ..
        } => {
            if !instructions.trim().is_empty() {
                eprintln!("{destination}: {}", instructions.trim());
            }
            let mut texts = Vec::new();
            for prompt in prompts {
                let label = format!("({destination}) {}", prompt.text);
                let text = if prompt.echo {
                    read_line(&label)
                } else {
                    read_secret(&label)
                };
                match text {
                    Some(t) => texts.push(Zeroizing::new(t)),
                    None => return Answer::Cancel,
                }
            }
            Answer::Texts(texts)
        }
        QuestionKind::KeyPassphrase { key_path } => secret(&format!("Passphrase for {key_path}: ")),
        QuestionKind::Password { destination } => secret(&format!("Password for {destination}: ")),
        QuestionKind::BrowserLogin {
            destination,
            url,
            code,
        } => show_login_page(destination, url, code.as_deref()),
    }
}

/// Says where to log in (and the code to type, for the device flow); the login goes on in the
/// browser, so the question is answered at once.
fn show_login_page(destination: &str, url: &str, code: Option<&str>) -> Answer {
    match code {
        Some(code) => eprintln!(
            "To log in to {destination}, open {url} in a browser (on any device) and enter the code {code}"
        ),
        None => {
            eprintln!("To log in to {destination}, open this address in your browser:\n    {url}")
        }
    }
    eprintln!("Usine waits here until the login is finished (Ctrl-C stops it).");
    open_browser(url);
    Answer::Trust
}

/// Opens `url` with the program `$BROWSER` names, as many terminal tools do; without it the
/// person opens the printed address themselves (a terminal may be on a machine without one).
pub fn open_browser(url: &str) {
    let Some(browser) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) else {
        return;
    };
    if let Err(e) = std::process::Command::new(&browser)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("Could not start {}: {e}", browser.to_string_lossy());
    }
}

fn secret(label: &str) -> Answer {
    read_secret(label).map_or(Answer::Cancel, |s| Answer::Texts(vec![Zeroizing::new(s)]))
}

fn read_line(label: &str) -> Option<String> {
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}

fn read_secret(label: &str) -> Option<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(label).ok()
    } else {
        // Scripts and tests pipe answers in; still never echoed back.
        read_line(label)
    }
}

/// Asks a yes/no question; only `y` or `yes` is yes (as `rm -i` reads it).
pub fn confirm(question: &str) -> bool {
    read_line(&format!("{question} [y/N] "))
        .is_some_and(|a| matches!(a.trim().to_lowercase().as_str(), "y" | "yes"))
}
