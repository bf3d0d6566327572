//! The three kinds of SSH certificate authority sites run, behind one trait: where their
//! identity provider is, and how they sign a key with what it gave.

use base64ct::{Base64, Encoding};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::LoginError;
use super::http::{Http, Refusal};
use super::oidc::{Provider, Tokens};
use crate::ssh::{IssuedCertificate, SessionKey};

/// What a CA signed, and for which user name it says it is.
pub struct Signed {
    pub certificate: IssuedCertificate,
    /// The account name the CA names (sshca's `posix_username`), when it says one.
    pub user: Option<String>,
}

/// One CA protocol. `http` is what `connect` returned (step-ca pins its own root).
pub trait Authority {
    /// The HTTP client for the CA: by default one that trusts the system's authorities.
    async fn connect(&self) -> Result<Http, LoginError> {
        Http::system()
    }
    async fn provider(&self, http: &Http) -> Result<Provider, LoginError>;
    async fn sign(
        &self,
        http: &Http,
        tokens: &Tokens,
        key: &SessionKey,
    ) -> Result<Signed, LoginError>;
}

/// smallstep's step-ca with an OIDC provisioner (CINECA's `step ssh login`). Endpoints as in
/// smallstep/certificates `api/api.go` and `api/ssh.go`.
pub struct StepCa<'a> {
    pub ca_url: &'a str,
    pub fingerprint: &'a str,
    pub provisioner: &'a str,
}

#[derive(Deserialize)]
struct RootAnswer {
    ca: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provisioners {
    provisioners: Vec<StepProvisioner>,
    #[serde(default)]
    next_cursor: String,
}

#[derive(Deserialize)]
struct StepProvisioner {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(rename = "clientID", default)]
    client_id: String,
    #[serde(rename = "clientSecret", default)]
    client_secret: String,
    #[serde(rename = "configurationEndpoint", default)]
    configuration_endpoint: String,
    #[serde(rename = "listenAddress", default)]
    listen_address: String,
}

impl StepCa<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ca_url.trim_end_matches('/'))
    }

    fn refusal(&self, refusal: Refusal) -> LoginError {
        #[derive(Deserialize)]
        struct Message {
            message: String,
        }
        let reason = serde_json::from_str::<Message>(&refusal.body)
            .map(|m| m.message)
            .unwrap_or(refusal.body);
        LoginError::CaRefused {
            ca: self.ca_url.to_owned(),
            reason,
        }
    }
}

/// The fingerprint as people copy it: hex, any case, colons allowed.
fn normalized(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    Base64::decode_vec(body.trim()).ok()
}

impl Authority for StepCa<'_> {
    /// As `step ca bootstrap`: the root is fetched without trusting anything, then accepted only
    /// if its SHA-256 is the one the site publishes; from then on only that root is trusted.
    async fn connect(&self) -> Result<Http, LoginError> {
        let expected = normalized(self.fingerprint);
        let answer: RootAnswer = Http::unverified()?
            .get_json(&self.url(&format!("/root/{expected}")))
            .await
            .map_err(|e| match e {
                LoginError::Unexpected { .. } => LoginError::FingerprintChanged {
                    ca: self.ca_url.to_owned(),
                    expected: expected.clone(),
                },
                other => other,
            })?;
        let der = pem_to_der(&answer.ca).unwrap_or_default();
        let found = crate::transfer::hex(&Sha256::digest(&der));
        if der.is_empty() || found != expected {
            return Err(LoginError::FingerprintChanged {
                ca: self.ca_url.to_owned(),
                expected,
            });
        }
        Http::pinned(&der)
    }

    async fn provider(&self, http: &Http) -> Result<Provider, LoginError> {
        let mut cursor = String::new();
        // Provisioner lists are paged; a CA has a handful, so a few pages are plenty.
        for _ in 0..20 {
            let page: Provisioners = http
                .get_json(&self.url(&format!("/provisioners?cursor={cursor}")))
                .await?;
            if let Some(p) = page
                .provisioners
                .into_iter()
                .find(|p| p.name == self.provisioner && p.kind == "OIDC")
            {
                let issuer = p
                    .configuration_endpoint
                    .trim_end_matches("/.well-known/openid-configuration")
                    .to_owned();
                let listen_port = p
                    .listen_address
                    .rsplit(':')
                    .next()
                    .and_then(|port| port.parse().ok());
                return Ok(Provider {
                    issuer,
                    client_id: p.client_id,
                    client_secret: Some(p.client_secret).filter(|s| !s.is_empty()),
                    listen_port,
                });
            }
            if page.next_cursor.is_empty() {
                break;
            }
            cursor = page.next_cursor;
        }
        Err(LoginError::NoProvisioner {
            ca: self.ca_url.to_owned(),
            name: self.provisioner.to_owned(),
        })
    }

    async fn sign(
        &self,
        http: &Http,
        tokens: &Tokens,
        key: &SessionKey,
    ) -> Result<Signed, LoginError> {
        #[derive(Deserialize)]
        struct Answer {
            crt: String,
        }
        let ott = tokens
            .id_token
            .as_deref()
            .ok_or_else(|| LoginError::TokenRejected {
                reason: "the identity provider sent no ID token".into(),
            })?;
        // No principals asked: the CA gives the ones the identity allows, which are then
        // checked against the cluster's user name (a clearer message than a refusal).
        let body = json!({
            "publicKey": key.public_wire_base64(),
            "ott": ott.as_str(),
            "certType": "user",
        });
        let answer: Answer = http
            .post_json(&self.url("/1.0/ssh/sign"), &body, None)
            .await?
            .map_err(|r| self.refusal(r))?;
        Ok(Signed {
            certificate: IssuedCertificate::parse(&answer.crt).map_err(LoginError::Certificate)?,
            user: None,
        })
    }
}

/// The EuroHPC Federation Platform's CA (wayf-dk/sshca, `sshca.go`): an access token from
/// MyAccessID buys a certificate for one resource (site).
pub struct Sshca<'a> {
    pub ca_url: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub resource: &'a str,
}

impl Authority for Sshca<'_> {
    async fn provider(&self, _http: &Http) -> Result<Provider, LoginError> {
        Ok(Provider::public_client(self.issuer, self.client_id))
    }

    async fn sign(
        &self,
        http: &Http,
        tokens: &Tokens,
        key: &SessionKey,
    ) -> Result<Signed, LoginError> {
        #[derive(Deserialize)]
        struct Answer {
            ssh_cert: String,
            #[serde(default)]
            posix_username: Option<String>,
        }
        let url = format!("{}/signJSON", self.ca_url.trim_end_matches('/'));
        let body = json!({
            "PublicKey": key.public_line(),
            "OTT": tokens.access_token.as_str(),
            "Resource": self.resource,
        });
        let answer: Answer = http.post_json(&url, &body, None).await?.map_err(|r| {
            let reason = serde_json::from_str::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or(r.body);
            if r.status == 403 || reason.contains("unknown resource") {
                LoginError::NoEntitlement {
                    resource: self.resource.to_owned(),
                    reason,
                }
            } else {
                LoginError::CaRefused {
                    ca: self.ca_url.to_owned(),
                    reason,
                }
            }
        })?;
        let certificate =
            IssuedCertificate::parse(&answer.ssh_cert).map_err(LoginError::Certificate)?;
        Ok(Signed {
            certificate,
            user: answer.posix_username.filter(|u| !u.is_empty()),
        })
    }
}

/// A signing service that takes the access token as a bearer token (CSCS's hpc-ssh service:
/// `POST …/ssh-keys/sign {publicKey, duration}`).
pub struct SigningService<'a> {
    pub sign_url: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub duration: &'a str,
}

impl Authority for SigningService<'_> {
    async fn provider(&self, _http: &Http) -> Result<Provider, LoginError> {
        Ok(Provider::public_client(self.issuer, self.client_id))
    }

    async fn sign(
        &self,
        http: &Http,
        tokens: &Tokens,
        key: &SessionKey,
    ) -> Result<Signed, LoginError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            ssh_key: Key,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Key {
            public_key: String,
        }
        let body = json!({ "publicKey": key.public_line(), "duration": self.duration });
        let answer: Answer = http
            .post_json(self.sign_url, &body, Some(&tokens.access_token))
            .await?
            .map_err(|r| LoginError::CaRefused {
                ca: self.sign_url.to_owned(),
                reason: format!("HTTP {}: {}", r.status, r.body),
            })?;
        Ok(Signed {
            certificate: IssuedCertificate::parse(&answer.ssh_key.public_key)
                .map_err(LoginError::Certificate)?,
            user: None,
        })
    }
}

/// Runs `$body` with `$a` bound to the protocol that `$authority` (a
/// [`CertificateAuthority`]) names: one place maps the settings to the trait's implementations.
macro_rules! dispatch {
    ($authority:expr, $a:ident => $body:expr) => {
        match $authority {
            $crate::browser_login::CertificateAuthority::StepCa {
                ca_url,
                fingerprint,
                provisioner,
            } => {
                let $a = $crate::browser_login::authorities::StepCa {
                    ca_url,
                    fingerprint,
                    provisioner,
                };
                $body
            }
            $crate::browser_login::CertificateAuthority::Sshca {
                ca_url,
                issuer,
                client_id,
                resource,
            } => {
                let $a = $crate::browser_login::authorities::Sshca {
                    ca_url,
                    issuer,
                    client_id,
                    resource,
                };
                $body
            }
            $crate::browser_login::CertificateAuthority::SigningService {
                sign_url,
                issuer,
                client_id,
                duration,
            } => {
                let $a = $crate::browser_login::authorities::SigningService {
                    sign_url,
                    issuer,
                    client_id,
                    duration,
                };
                $body
            }
        }
    };
}
pub(crate) use dispatch;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_compared_as_people_copy_them() {
        assert_eq!(normalized("2A:E1:54 32"), "2ae15432");
        assert_eq!(normalized("2ae15432"), "2ae15432");
    }

    #[test]
    fn a_pem_root_becomes_its_der_bytes() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\nAwQ=\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_to_der(pem), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(pem_to_der("no certificate here"), Some(Vec::new()));
    }
}
