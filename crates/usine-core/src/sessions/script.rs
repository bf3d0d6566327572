//! The commands of a session's job: pick a free port and a random token on the node, start the
//! kind's server with them, and once it listens write `host port token` to a private file named
//! after the job, which Usine reads to open the tunnel.

/// Runs after the job's environment is set up; `@START@` is the kind's start command.
/// The token is made on the node (never in the script, a log or a command line) and scrubbed
/// from what the server prints, which ends up in the job's output file.
const WRAPPER: &str = r#"# An interactive session started by Usine: the server below listens on the node, and Usine
# reaches it through your SSH connection. The page needs the token in the private file.
USINE_ID=${USINE_RUN_ID:-$SLURM_JOB_ID}
USINE_DIR=${USINE_SESSIONS:-$HOME/.usine/sessions}
mkdir -p "$USINE_DIR" && chmod 700 "$USINE_DIR" || exit 1
@NEEDS@usine_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 100); do
  PORT=$(( 20000 + RANDOM % 30000 ))
  usine_port_free "$PORT" && break
done
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
BIND=${USINE_BIND:-0.0.0.0}
USINE_HOST=${SLURMD_NODENAME:-localhost}
export PORT TOKEN BIND USINE_DIR USINE_ID
usine_file="$USINE_DIR/$USINE_ID"
trap 'rm -f -- "$usine_file" "$USINE_DIR/"*"-$USINE_ID.flags"; kill "$usine_server" 2>/dev/null' EXIT
trap 'exit 143' TERM INT
(
@START@
) > >(sed -u "s/$TOKEN/<token>/g") 2>&1 &
usine_server=$!
until ! usine_port_free "$PORT"; do
  if ! kill -0 "$usine_server" 2>/dev/null; then
    echo "usine: the server stopped before it listened; its messages are above." >&2
    wait "$usine_server"; exit $?
  fi
  sleep 1
done
(umask 077 && printf '%s %s %s\n' "$USINE_HOST" "$PORT" "$TOKEN" > "$usine_file.new") && mv -f -- "$usine_file.new" "$usine_file"
echo "usine: the session listens on $USINE_HOST, port $PORT."
wait "$usine_server"
"#;

/// The commands of a session of a kind whose server starts with `start` (which may need the
/// program `needs` on the PATH).
pub(crate) fn render(start: &str, needs: Option<&str>) -> String {
    let needs = needs.map_or_else(String::new, |program| {
        // A program name from the catalogue, not the person's text; quoted all the same.
        let p = crate::ssh::quote(program);
        format!(
            "command -v {p} >/dev/null || {{ echo \"usine: {program} is not installed here. Choose a Python environment or module that has it (pip install {program}), or ask the site which module provides it.\" >&2; exit 127; }}\n"
        )
    });
    WRAPPER
        .replace("@NEEDS@", &needs)
        .replace("@START@", start.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("usine-session-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The script, run by a real bash with a tiny Python server, writes the file
    /// only once the port answers, private, and keeps the token out of the output.
    #[test]
    fn the_connection_file_appears_private_once_the_server_listens_and_the_output_hides_the_token()
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("listens");
        let start = r#"sleep 1; echo "serving with $TOKEN"; exec python3 -c 'import http.server as h, os; h.HTTPServer((os.environ["BIND"], int(os.environ["PORT"])), h.SimpleHTTPRequestHandler).serve_forever()'"#;
        let script = render(start, Some("python3"));
        let child = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("USINE_SESSIONS", &dir)
            .env("USINE_RUN_ID", "run1")
            .env("USINE_BIND", "127.0.0.1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let file = dir.join("run1");
        let mut waited = 0;
        while !file.exists() && waited < 200 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        let line = std::fs::read_to_string(&file).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the connection file is private");
        let parsed = super::super::connection_file::parse(line.as_bytes()).unwrap();
        assert_eq!(parsed.host, "localhost");
        assert_eq!(parsed.token.len(), 48);
        // It really listens there.
        std::net::TcpStream::connect(("127.0.0.1", parsed.port)).unwrap();
        let _ = std::process::Command::new("kill")
            .arg(child.id().to_string())
            .status();
        let out = child.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("serving with <token>"), "{out}");
        assert!(!out.contains(&parsed.token));
        assert!(!file.exists(), "the file goes with the session");
    }

    #[test]
    fn a_missing_server_says_what_to_install() {
        let dir = scratch("missing");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(render("exec no-such-server", Some("no-such-server")))
            .env("USINE_SESSIONS", &dir)
            .env("USINE_RUN_ID", "run2")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(127));
        assert!(String::from_utf8_lossy(&out.stderr).contains("pip install no-such-server"));
    }
}
