//! The loopback redirect of a browser login (RFC 8252 7.3): a listener on 127.0.0.1 that the
//! browser comes back to with the authorization code. It answers one request with a page the
//! person can close, and takes nothing but the code of the login it started (its `state`).

use std::time::Duration;

use openidconnect::url::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zeroize::Zeroizing;

use super::LoginError;

pub struct Redirect {
    listener: TcpListener,
    port: u16,
}

/// Listens on the fixed port the client is registered with, or on any free one.
pub async fn bind(fixed: Option<u16>) -> Result<Redirect, LoginError> {
    let listener = TcpListener::bind(("127.0.0.1", fixed.unwrap_or(0)))
        .await
        .map_err(|e| match (fixed, e.kind()) {
            (Some(port), std::io::ErrorKind::AddrInUse) => LoginError::PortTaken { port },
            _ => LoginError::Local {
                reason: e.to_string(),
            },
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| LoginError::Local {
            reason: e.to_string(),
        })?
        .port();
    Ok(Redirect { listener, port })
}

impl Redirect {
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Waits for the browser's return and gives the code, if it carries `state`. Other requests
    /// (a favicon, a stray tab) are answered and ignored.
    pub async fn wait(self, state: &str) -> Result<Zeroizing<String>, LoginError> {
        loop {
            let Ok((stream, _)) = self.listener.accept().await else {
                continue;
            };
            match answer(stream, state).await {
                Some(outcome) => return outcome,
                None => continue,
            }
        }
    }
}

async fn answer(
    mut stream: TcpStream,
    state: &str,
) -> Option<Result<Zeroizing<String>, LoginError>> {
    let target = read_target(&mut stream).await?;
    let url = Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    if url.path() != "/callback" {
        respond(&mut stream, "404 Not Found", "").await;
        return None;
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Zeroizing::new(v.into_owned()))
    };
    let outcome = if param("state").as_deref().map(String::as_str) != Some(state) {
        Err(LoginError::StateMismatch)
    } else if let Some(error) = param("error") {
        let description = param("error_description");
        Err(LoginError::Denied {
            reason: description.as_deref().unwrap_or(&error).to_string(),
        })
    } else if let Some(code) = param("code") {
        Ok(code)
    } else {
        Err(LoginError::StateMismatch)
    };
    let page = match &outcome {
        Ok(_) => crate::tr!(
            en: "You are logged in. You can close this tab and go back to Usine.",
            fr: "Vous êtes connecté. Vous pouvez fermer cet onglet et revenir à Usine."
        ),
        Err(e) => e.to_string(),
    };
    respond(&mut stream, "200 OK", &page).await;
    Some(outcome)
}

/// The request line's target, from a head of at most 16 KiB read within 10 s.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()??;
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut words = line.split(' ');
    (words.next()? == "GET").then_some(())?;
    words
        .next()
        .filter(|t| t.starts_with('/'))
        .map(str::to_owned)
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Usine</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>Usine</h1><p>{escaped}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn visit(port: u16, target: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut page = String::new();
        stream.read_to_string(&mut page).await.unwrap();
        page
    }

    async fn outcome(targets: &[&str]) -> (Result<Zeroizing<String>, LoginError>, Vec<String>) {
        let redirect = bind(None).await.unwrap();
        let port = redirect.port;
        assert!(redirect.uri().starts_with("http://127.0.0.1:"));
        let waiting = tokio::spawn(redirect.wait("the-state"));
        let mut pages = Vec::new();
        for target in targets {
            pages.push(visit(port, target).await);
        }
        (waiting.await.unwrap(), pages)
    }

    #[tokio::test]
    async fn the_code_of_this_login_is_taken_and_stray_requests_ignored() {
        let (code, pages) =
            outcome(&["/favicon.ico", "/callback?code=abc%2F1&state=the-state"]).await;
        assert_eq!(code.unwrap().as_str(), "abc/1");
        assert!(pages[0].starts_with("HTTP/1.1 404"));
        assert!(pages[1].contains("You are logged in"), "{}", pages[1]);
    }

    #[tokio::test]
    async fn an_answer_for_another_login_is_refused() {
        let (code, pages) = outcome(&["/callback?code=stolen&state=other"]).await;
        assert!(matches!(code, Err(LoginError::StateMismatch)));
        assert!(pages[0].contains("another login"), "{}", pages[0]);
    }

    #[tokio::test]
    async fn the_providers_refusal_is_said() {
        let (code, _) = outcome(&[
            "/callback?error=access_denied&error_description=The+user+cancelled&state=the-state",
        ])
        .await;
        match code {
            Err(LoginError::Denied { reason }) => assert_eq!(reason, "The user cancelled"),
            other => panic!("{:?}", other.map(|c| c.to_string())),
        }
    }

    #[tokio::test]
    async fn a_taken_fixed_port_is_named() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = taken.local_addr().unwrap().port();
        assert!(matches!(
            bind(Some(port)).await,
            Err(LoginError::PortTaken { port: p }) if p == port
        ));
    }
}
