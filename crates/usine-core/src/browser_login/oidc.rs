//! OpenID Connect at the site's identity provider, with the `openidconnect` crate: the
//! authorization code flow with PKCE and a loopback redirect (the system browser does the login),
//! the device flow (for a machine without a browser), and refresh tokens for renewals without
//! asking. ID tokens are checked (signature, issuer, audience, nonce) before anything uses them.

use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreDeviceAuthorizationResponse, CoreGrantType, CoreIdTokenVerifier,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    DeviceAuthorizationUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, ProviderMetadata, RedirectUrl, RefreshToken, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::LoginError;
use super::http::Http;
use super::loopback;
use crate::ssh::{Answer, QuestionKind, Questions};

/// The identity provider and the client Usine is registered as there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    /// Some CAs publish one for their public clients (step-ca's provisioners); not a secret then.
    pub client_secret: Option<String>,
    /// A fixed loopback address the client is registered with (step-ca's `listenAddress`).
    pub listen_port: Option<u16>,
}

impl Provider {
    /// A provider where Usine is a public client (no secret) on any loopback port.
    pub fn public_client(issuer: &str, client_id: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            listen_port: None,
        }
    }
}

/// What a login brought back. Tokens are wiped from memory when dropped.
pub struct Tokens {
    pub id_token: Option<Zeroizing<String>>,
    pub access_token: Zeroizing<String>,
    pub refresh_token: Option<Zeroizing<String>>,
}

/// How the person logs in at the identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Way {
    /// The system browser opens the provider's page and comes back to a loopback address.
    #[default]
    Browser,
    /// A code typed on any device's browser (RFC 8628): for terminals without a browser.
    DeviceCode,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
struct DeviceEndpoint {
    #[serde(default)]
    device_authorization_endpoint: Option<DeviceAuthorizationUrl>,
}

impl AdditionalProviderMetadata for DeviceEndpoint {}

type Metadata = ProviderMetadata<
    DeviceEndpoint,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The client as discovery makes it: authorization endpoint known, token endpoint if published.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Discovered {
    metadata: Metadata,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
}

impl Discovered {
    fn client(&self) -> DiscoveredClient {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
    }

    /// `openid email`, and `offline_access` where the provider offers it (a refresh token is
    /// what lets Usine renew certificates without asking).
    fn scopes(&self) -> Vec<Scope> {
        let mut scopes = vec![Scope::new("email".into())];
        if self.offers_refresh() {
            scopes.push(Scope::new("offline_access".into()));
        }
        scopes
    }

    fn offers_refresh(&self) -> bool {
        self.metadata
            .scopes_supported()
            .is_some_and(|s| s.iter().any(|s| s.as_str() == "offline_access"))
    }
}

async fn discover(http: &Http, provider: &Provider) -> Result<Discovered, LoginError> {
    let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| LoginError::Provider {
        issuer: provider.issuer.clone(),
        reason: e.to_string(),
    })?;
    let metadata = Metadata::discover_async(issuer, &http.oauth())
        .await
        .map_err(|e| LoginError::Provider {
            issuer: provider.issuer.clone(),
            reason: super::http::chain(&e),
        })?;
    Ok(Discovered {
        metadata,
        client_id: ClientId::new(provider.client_id.clone()),
        client_secret: provider
            .client_secret
            .clone()
            .filter(|s| !s.is_empty())
            .map(ClientSecret::new),
    })
}

/// Logs in the way chosen; `destination` names the cluster in what the person is shown.
pub async fn log_in(
    http: &Http,
    provider: &Provider,
    way: Way,
    destination: &str,
    questions: &Questions,
    wait: Duration,
) -> Result<Tokens, LoginError> {
    let discovered = discover(http, provider).await?;
    match way {
        Way::Browser => browser(http, provider, &discovered, destination, questions, wait).await,
        Way::DeviceCode => device(http, &discovered, destination, questions, wait).await,
    }
}

async fn browser(
    http: &Http,
    provider: &Provider,
    discovered: &Discovered,
    destination: &str,
    questions: &Questions,
    wait: Duration,
) -> Result<Tokens, LoginError> {
    let redirect = loopback::bind(provider.listen_port).await?;
    let client = discovered
        .client()
        .set_redirect_uri(
            RedirectUrl::new(redirect.uri()).map_err(|e| LoginError::Provider {
                issuer: provider.issuer.clone(),
                reason: e.to_string(),
            })?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(discovered.scopes())
        .set_pkce_challenge(challenge);
    if discovered.offers_refresh() {
        // OpenID Connect Core 11: offline access is granted only with the consent prompt.
        request = request.add_extra_param("prompt", "consent");
    }
    let (url, state, nonce) = request.url();
    let asked = QuestionKind::BrowserLogin {
        destination: destination.to_owned(),
        url: url.to_string(),
        code: None,
    };
    let code = answered_or(questions, asked, wait, redirect.wait(state.secret())).await?;
    let token: CoreTokenResponse = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| LoginError::Provider {
            issuer: provider.issuer.clone(),
            reason: e.to_string(),
        })?
        .set_pkce_verifier(verifier)
        .request_async(&http.oauth())
        .await
        .map_err(|e| token_error(&provider.issuer, &e))?;
    checked(&client.id_token_verifier(), token, Some(&nonce))
}

async fn device(
    http: &Http,
    discovered: &Discovered,
    destination: &str,
    questions: &Questions,
    wait: Duration,
) -> Result<Tokens, LoginError> {
    let issuer = discovered.metadata.issuer().to_string();
    let endpoint = discovered
        .metadata
        .additional_metadata()
        .device_authorization_endpoint
        .clone()
        .ok_or_else(|| LoginError::NoDeviceFlow {
            issuer: issuer.clone(),
        })?;
    let client = discovered.client().set_device_authorization_url(endpoint);
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(discovered.scopes())
        .request_async(&http.oauth())
        .await
        .map_err(|e| token_error(&issuer, &e))?;
    // The address with the code in it, where the provider gives one: one click fewer.
    let url = details
        .verification_uri_complete()
        .map(|u| u.secret().clone())
        .unwrap_or_else(|| details.verification_uri().to_string());
    let asked = QuestionKind::BrowserLogin {
        destination: destination.to_owned(),
        url,
        code: Some(details.user_code().secret().clone()),
    };
    let http_client = http.oauth();
    let polled = async {
        client
            .exchange_device_access_token(&details)
            .map_err(|e| LoginError::Provider {
                issuer: issuer.clone(),
                reason: e.to_string(),
            })?
            .request_async(&http_client, tokio::time::sleep, Some(wait))
            .await
            .map_err(|e| token_error(&issuer, &e))
    };
    let token = answered_or(questions, asked, wait, polled).await?;
    checked(&client.id_token_verifier(), token, None)
}

/// Renews the tokens with a refresh token, asking nobody.
pub async fn refresh(
    http: &Http,
    provider: &Provider,
    refresh_token: &str,
) -> Result<Tokens, LoginError> {
    let discovered = discover(http, provider).await?;
    let client = discovered.client();
    let token: CoreTokenResponse = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
        .map_err(|e| LoginError::Provider {
            issuer: provider.issuer.clone(),
            reason: e.to_string(),
        })?
        .request_async(&http.oauth())
        .await
        .map_err(|e| token_error(&provider.issuer, &e))?;
    let mut tokens = checked(&client.id_token_verifier(), token, None)?;
    // Providers that do not rotate refresh tokens send none back: the old one still works.
    if tokens.refresh_token.is_none() {
        tokens.refresh_token = Some(Zeroizing::new(refresh_token.to_owned()));
    }
    Ok(tokens)
}

/// Shows the person where to log in while `work` runs; the login ends with `work`, when they
/// cancel, or after `wait`.
async fn answered_or<T>(
    questions: &Questions,
    asked: QuestionKind,
    wait: Duration,
    work: impl Future<Output = Result<T, LoginError>>,
) -> Result<T, LoginError> {
    let shown = async {
        match questions.ask(asked).await {
            Answer::Cancel => LoginError::Cancelled,
            // Seen: the login goes on in the browser; only `work` or the clock ends it now.
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        done = work => done,
        cancelled = shown => Err(cancelled),
        () = tokio::time::sleep(wait) => Err(LoginError::BrowserTimedOut {
            minutes: wait.as_secs().div_ceil(60),
        }),
    }
}

fn token_error(issuer: &str, e: &(dyn std::error::Error + 'static)) -> LoginError {
    let reason = super::http::chain(e);
    if reason.contains("access_denied") || reason.contains("invalid_grant") {
        LoginError::Denied { reason }
    } else if reason.contains("expired_token") {
        LoginError::CodeExpired
    } else {
        LoginError::Provider {
            issuer: issuer.to_owned(),
            reason,
        }
    }
}

/// Checks the ID token (signature, issuer, audience, expiry, and the nonce this login sent)
/// before anything of the answer is used: a token for another client or login goes no further.
fn checked(
    verifier: &CoreIdTokenVerifier<'_>,
    token: CoreTokenResponse,
    nonce: Option<&Nonce>,
) -> Result<Tokens, LoginError> {
    let id_token = match token.id_token() {
        Some(id_token) => {
            let verified = match nonce {
                Some(nonce) => id_token.claims(verifier, nonce).map(|_| ()),
                None => id_token
                    .claims(verifier, |_: Option<&Nonce>| Ok(()))
                    .map(|_| ()),
            };
            verified.map_err(|e| LoginError::TokenRejected {
                reason: e.to_string(),
            })?;
            Some(Zeroizing::new(id_token.to_string()))
        }
        None => None,
    };
    Ok(Tokens {
        id_token,
        access_token: Zeroizing::new(token.access_token().secret().clone()),
        refresh_token: token
            .refresh_token()
            .map(|t| Zeroizing::new(t.secret().clone())),
    })
}

#[cfg(test)]
mod tests {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use hmac::{KeyInit, Mac};
    use openidconnect::core::CoreJwsSigningAlgorithm;
    use openidconnect::{JsonWebKeySet, TokenResponse as _};

    use super::*;

    const ISSUER: &str = "https://idp.example";
    const SECRET: &str = "a client secret long enough for HS256";

    /// An ID token as a provider signs it (HS256 with the client's secret, which
    /// `openidconnect` checks without a key set), with the claims given.
    fn id_token(claims: serde_json::Value, key: &str) -> String {
        let header = Base64UrlUnpadded::encode_string(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = Base64UrlUnpadded::encode_string(claims.to_string().as_bytes());
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{header}.{body}").as_bytes());
        let signature = Base64UrlUnpadded::encode_string(&mac.finalize().into_bytes());
        format!("{header}.{body}.{signature}")
    }

    fn answer(aud: &str, nonce: &str, key: &str) -> CoreTokenResponse {
        let now = crate::ssh::certificate::now();
        let claims = serde_json::json!({
            "iss": ISSUER, "aud": aud, "sub": "alice", "nonce": nonce,
            "iat": now, "exp": now + 300,
        });
        serde_json::from_value(serde_json::json!({
            "access_token": "an access token",
            "token_type": "bearer",
            "id_token": id_token(claims, key),
        }))
        .unwrap()
    }

    fn check(token: CoreTokenResponse) -> Result<Tokens, LoginError> {
        let client = CoreClient::new(
            ClientId::new("usine".into()),
            IssuerUrl::new(ISSUER.into()).unwrap(),
            JsonWebKeySet::default(),
        )
        .set_client_secret(ClientSecret::new(SECRET.into()));
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(vec![CoreJwsSigningAlgorithm::HmacSha256]);
        checked(&verifier, token, Some(&Nonce::new("this login".into())))
    }

    #[test]
    fn only_an_id_token_for_this_client_and_this_login_goes_further() {
        let good = answer("usine", "this login", SECRET);
        assert!(good.id_token().is_some());
        let tokens = check(good).expect("the right token passes");
        assert_eq!(tokens.access_token.as_str(), "an access token");
        for (what, token) in [
            (
                "another audience",
                answer("another-client", "this login", SECRET),
            ),
            (
                "another login's nonce",
                answer("usine", "an old login", SECRET),
            ),
            (
                "a forged signature",
                answer("usine", "this login", "not the secret at all!!"),
            ),
        ] {
            assert!(
                matches!(check(token), Err(LoginError::TokenRejected { .. })),
                "{what} was accepted"
            );
        }
    }
}
