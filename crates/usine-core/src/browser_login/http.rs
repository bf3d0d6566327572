//! The HTTP client of a browser login: one `reqwest` client that never follows redirects (a
//! token request must not be sent anywhere else), used by `openidconnect` and by the CAs' APIs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{HttpRequest, HttpResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::LoginError;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFailure(String);

#[derive(Clone)]
pub struct Http(reqwest::Client);

/// What a service answered that was not a success: its status and its words.
pub struct Refusal {
    pub status: u16,
    pub body: String,
}

impl Http {
    fn builder() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
    }

    /// Trusts the operating system's certificate authorities.
    pub fn system() -> Result<Self, LoginError> {
        Self::builder()
            .build()
            .map(Self)
            .map_err(|e| http_error("", &e))
    }

    /// Trusts only `root` (DER): a site CA's own root, pinned by its fingerprint.
    pub fn pinned(root_der: &[u8]) -> Result<Self, LoginError> {
        let root = reqwest::Certificate::from_der(root_der).map_err(|e| http_error("", &e))?;
        Self::builder()
            .tls_certs_only([root])
            .build()
            .map(Self)
            .map_err(|e| http_error("", &e))
    }

    /// Accepts any server certificate: only to fetch a root whose fingerprint is then checked,
    /// as `step ca bootstrap` does.
    pub fn unverified() -> Result<Self, LoginError> {
        Self::builder()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .map(Self)
            .map_err(|e| http_error("", &e))
    }

    /// `openidconnect`'s HTTP client.
    pub fn oauth(
        &self,
    ) -> impl Fn(
        HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send>>
    + use<> {
        let client = self.0.clone();
        move |request: HttpRequest| {
            let client = client.clone();
            Box::pin(async move {
                let (parts, body) = request.into_parts();
                let response = client
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| HttpFailure(chain(&e)))?;
                let mut builder =
                    openidconnect::http::Response::builder().status(response.status().as_u16());
                for (name, value) in response.headers() {
                    builder = builder.header(name.as_str(), value.as_bytes());
                }
                let bytes = response.bytes().await.map_err(|e| HttpFailure(chain(&e)))?;
                builder
                    .body(bytes.to_vec())
                    .map_err(|e| HttpFailure(e.to_string()))
            })
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, LoginError> {
        let response = self.0.get(url).send().await;
        Self::json(url, response).await
    }

    /// POSTs `body` as JSON, with a bearer token if given. `Err(Ok(refusal))`: the service said
    /// no, in its own words.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        url: &str,
        body: &impl Serialize,
        bearer: Option<&str>,
    ) -> Result<Result<T, Refusal>, LoginError> {
        let mut request = self.0.post(url).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| http_error(url, &e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| http_error(url, &e))?;
        if !status.is_success() {
            return Ok(Err(Refusal {
                status: status.as_u16(),
                body: text.chars().take(500).collect(),
            }));
        }
        serde_json::from_str(&text)
            .map(Ok)
            .map_err(|e| LoginError::Unexpected {
                url: url.to_owned(),
                reason: e.to_string(),
            })
    }

    async fn json<T: DeserializeOwned>(
        url: &str,
        response: reqwest::Result<reqwest::Response>,
    ) -> Result<T, LoginError> {
        let response = response.map_err(|e| http_error(url, &e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| http_error(url, &e))?;
        if !status.is_success() {
            return Err(LoginError::Unexpected {
                url: url.to_owned(),
                reason: format!(
                    "HTTP {status}: {}",
                    text.chars().take(300).collect::<String>()
                ),
            });
        }
        serde_json::from_str(&text).map_err(|e| LoginError::Unexpected {
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }
}

pub fn http_error(url: &str, e: &(dyn std::error::Error + 'static)) -> LoginError {
    LoginError::Unreachable {
        url: url.to_owned(),
        reason: chain(e),
    }
}

/// An error and its causes on one line (reqwest's own message hides the cause).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let words = cause.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        next = cause.source();
    }
    text
}
