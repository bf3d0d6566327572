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
