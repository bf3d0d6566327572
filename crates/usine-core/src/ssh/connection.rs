//! The connection itself: handshake, host-key check, bastions, and commands as channels.

use std::sync::Arc;

use russh::ChannelMsg;
use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use ts_rs::TS;

use super::host_keys::{HostKeyStore, Verdict, fingerprint_sha256};
use super::questions::{Answer, QuestionKind, Questions};
use super::{ConnectSpec, Endpoint, Hop, SshError, auth};

/// What the UI shows next to a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ConnectionState {
    Connecting,
    /// A question (host key, code, passphrase) is waiting for the user.
    WaitingForUser,
    Connected,
    /// The link dropped and Usine is trying again by itself (only for logins that need nobody).
    Reconnecting {
        attempt: u32,
        of: u32,
    },
    /// Not connected; `reason` says why and what to do, in plain words.
    Offline {
        reason: String,
        why: OfflineWhy,
    },
}

/// Why a cluster is not connected, for what the app shows where: a link lost while working
/// concerns every screen; a login that failed concerns the place it was asked from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum OfflineWhy {
    /// The cluster could not be reached (no route, a closed port, no answer).
    Unreachable,
    /// The cluster answered but did not let the user in (key, code, host key, passphrase).
    LoginRefused,
    /// The connection was lost after the login, and could not be brought back by itself.
    Dropped,
}

/// Where a streamed command's stdout goes, chunk by chunk.
pub type StdoutSink<'a> = &'a mut (dyn FnMut(&[u8]) + Send);

/// Output of a command run on the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None` when the command was killed by a signal or the channel closed without a status.
    pub exit_status: Option<u32>,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

/// russh's callbacks for one hop: the host-key decision happens here, during the handshake.
pub(super) struct ClientHandler {
    endpoint: Endpoint,
    host_keys: Arc<HostKeyStore>,
    questions: Questions,
    state: watch::Sender<ConnectionState>,
}

impl client::Handler for ClientHandler {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => {
                russh::keys::PublicKey::new(cert.public_key().clone(), "")
            }
        };
        let host = self.endpoint.host.clone();
        let port = self.endpoint.port;
        let fingerprint = fingerprint_sha256(&key);
        match self.host_keys.verify(&host, port, &key) {
            Verdict::Known => Ok(true),
            Verdict::Changed { file, line } => {
                Err(HandlerError::Refused(SshError::HostKeyChanged {
                    host,
                    port,
                    fingerprint,
                    file,
                    line,
                }))
            }
            Verdict::Revoked { file, .. } => Err(HandlerError::Refused(SshError::HostKeyRevoked {
                host,
                fingerprint,
                file,
            })),
            Verdict::Unknown => {
                self.state.send_replace(ConnectionState::WaitingForUser);
                let answer = self
                    .questions
                    .ask(QuestionKind::UnknownHostKey {
                        host: host.clone(),
                        port,
                        algorithm: key.algorithm().to_string(),
                        fingerprint: fingerprint.clone(),
                    })
                    .await;
                self.state.send_replace(ConnectionState::Connecting);
                if !matches!(answer, Answer::Trust) {
                    return Err(HandlerError::Refused(SshError::HostKeyNotTrusted {
                        host,
                        fingerprint,
                    }));
                }
                if let Err(error) = self.host_keys.remember(&host, port, &key) {
                    // Trusted for this connection; the question comes back next time.
                    tracing::warn!(%error, "could not record the host key");
                }
                Ok(true)
            }
        }
    }
}

/// A TCP connection to `host:port`, its failure said as what the user can act on: a name that
/// does not resolve (a misspelt host), a port where nothing listens, or no way there at all.
async fn open_tcp(host: &str, port: u16) -> Result<tokio::net::TcpStream, SshError> {
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| SshError::UnknownHost {
            host: host.to_owned(),
        })?
        .collect();
    let mut last = None;
    for address in &addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => SshError::PortClosed {
            host: host.to_owned(),
            port,
        },
        Some(e) => SshError::Unreachable {
            host: host.to_owned(),
            port,
            reason: e.to_string(),
        },
        None => SshError::UnknownHost {
            host: host.to_owned(),
        },
    })
}

/// russh needs its handler error to absorb its own errors; ours carries the refusal reason.
#[derive(Debug)]
pub(super) enum HandlerError {
    Refused(SshError),
    Russh(russh::Error),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        Self::Russh(e)
    }
}

/// One authenticated connection; commands run as channels on it. Bastion connections are kept
/// alive underneath, in order.
pub struct Connection {
    handle: Handle<ClientHandler>,
    _jumps: Vec<Handle<ClientHandler>>,
    endpoint: Endpoint,
    state: watch::Receiver<ConnectionState>,
    /// Commands running at once on this connection: one permit each, [`SESSIONS`] in all.
    sessions: tokio::sync::Semaphore,
}

/// Commands a connection runs at once: OpenSSH's default `MaxSessions`. One more waits for one
/// to end instead of being refused: an upload (4 channels), a download (8) and the GPU chart
/// on one connection asked for 13.
const SESSIONS: usize = 10;

impl Connection {
    /// Connects (crossing the bastions in order), checks every host key, and logs in.
    /// `host_keys` decides which keys are trusted; `questions` reaches the user.
    pub async fn open(
        spec: &ConnectSpec,
        host_keys: Arc<HostKeyStore>,
        questions: Questions,
    ) -> Result<Self, SshError> {
        let (state_tx, state) = watch::channel(ConnectionState::Connecting);
        // One configuration per hop: each offers first the host-key algorithms recorded for
        // that host, as OpenSSH does, so a host known only by its ECDSA or RSA key shows that
        // key (checked, or refused if it changed) instead of an unrecorded ed25519 one.
        let config_for = |hop: &Hop| {
            Arc::new(client::Config {
                keepalive_interval: Some(spec.keepalive),
                keepalive_max: 3,
                preferred: russh::Preferred {
                    // AES-GCM first: about twice chacha20's speed on CPUs with AES instructions.
                    cipher: std::borrow::Cow::Borrowed(&[
                        russh::cipher::AES_256_GCM,
                        russh::cipher::CHACHA20_POLY1305,
                        russh::cipher::AES_256_CTR,
                    ]),
                    key: std::borrow::Cow::Owned(
                        host_keys.algorithms_for(&hop.endpoint.host, hop.endpoint.port),
                    ),
                    ..Default::default()
                },
                ..Default::default()
            })
        };
        let handler = |hop: &Hop| ClientHandler {
            endpoint: hop.endpoint.clone(),
            host_keys: host_keys.clone(),
            questions: questions.clone(),
            state: state_tx.clone(),
        };

        let mut jumps: Vec<Handle<ClientHandler>> = Vec::new();
        let hops: Vec<&Hop> = spec
            .jumps
            .iter()
            .chain(std::iter::once(&spec.target))
            .collect();
        for hop in hops {
            let endpoint = &hop.endpoint;
            let timeout = spec.connect_timeout;
            let handshake = async {
                match jumps.last() {
                    None => {
                        let tcp = open_tcp(&endpoint.host, endpoint.port).await?;
                        // Small packets (commands) must not wait for Nagle's algorithm; russh
                        // only sets this on sockets it opens itself.
                        if let Err(error) = tcp.set_nodelay(true) {
                            tracing::debug!(%error, "TCP_NODELAY not set");
                        }
                        client::connect_stream(config_for(hop), tcp, handler(hop)).await
                    }
                    Some(previous) => {
                        let channel = previous
                            .channel_open_direct_tcpip(
                                endpoint.host.clone(),
                                u32::from(endpoint.port),
                                "127.0.0.1",
                                0,
                            )
                            .await
                            .map_err(|e| SshError::Unreachable {
                                host: endpoint.host.clone(),
                                port: endpoint.port,
                                reason: format!("the bastion could not open the way ({e})"),
                            })?;
                        client::connect_stream(config_for(hop), channel.into_stream(), handler(hop))
                            .await
                    }
                }
                .map_err(|e| match e {
                    HandlerError::Refused(e) => e,
                    HandlerError::Russh(e) => SshError::Protocol {
                        host: endpoint.host.clone(),
                        reason: e.to_string(),
                    },
                })
            };
            let mut handle = tokio::time::timeout(timeout, handshake)
                .await
                .map_err(|_| SshError::TimedOut {
                    host: endpoint.host.clone(),
                    seconds: timeout.as_secs(),
                })??;
            auth::authenticate(&mut handle, hop, &questions).await?;
            jumps.push(handle);
        }
        let handle = jumps
            .pop()
            .expect("the target hop is always connected last");
        state_tx.send_replace(ConnectionState::Connected);
        Ok(Self {
            handle,
            _jumps: jumps,
            endpoint: spec.target.endpoint.clone(),
            state,
            sessions: tokio::sync::Semaphore::new(SESSIONS),
        })
    }

    /// The connection's state as it changes; the UI shows it as a badge.
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Runs `command` through the remote login shell on a new channel of this connection.
    /// Any user text in `command` must have gone through [`super::quote`].
    pub async fn exec(&self, command: &str) -> Result<CommandOutput, SshError> {
        self.run(command, None, None).await
    }

    /// Runs `command` and hands its stdout to `on_stdout` as it arrives (for downloads that do
    /// not fit in memory); the returned output holds stderr and the exit status only.
    pub async fn exec_streaming(
        &self,
        command: &str,
        input: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
        on_stdout: StdoutSink<'_>,
    ) -> Result<CommandOutput, SshError> {
        self.run(command, input, Some(on_stdout)).await
    }

    /// Runs `command` and streams `input` to its stdin (back-pressured by the SSH window), then
    /// closes stdin and collects the output. For `tar -x` and other commands that read data.
    pub async fn exec_with_input(
        &self,
        command: &str,
        input: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<CommandOutput, SshError> {
        self.run(command, Some(input), None).await
    }

    async fn run(
        &self,
        command: &str,
        input: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
        mut on_stdout: Option<StdoutSink<'_>>,
    ) -> Result<CommandOutput, SshError> {
        let broken = |e: russh::Error| SshError::Disconnected {
            host: self.endpoint.host.clone(),
            reason: e.to_string(),
        };
        // Held until the command ends; the semaphore is never closed.
        let _session = self.sessions.acquire().await.ok();
        let channel = self.session_channel().await.map_err(broken)?;
        channel.exec(true, command).await.map_err(broken)?;
        // Input and output flow at the same time: a command may answer while it still reads
        // (an upload worker confirms each part as it lands), and a full stdout never stalls stdin.
        let (mut reader, writer) = channel.split();
        let write = async {
            if let Some(mut input) = input {
                while let Some(chunk) = input.recv().await {
                    writer.data_bytes(chunk).await.map_err(broken)?;
                }
                writer.eof().await.map_err(broken)?;
            }
            Ok::<(), SshError>(())
        };
        let read = async {
            let mut out = CommandOutput {
                stdout: Vec::new(),
                stderr: Vec::new(),
                exit_status: None,
            };
            while let Some(msg) = reader.wait().await {
                match msg {
                    ChannelMsg::Data { data } => match on_stdout.as_mut() {
                        Some(sink) => sink(&data),
                        None => out.stdout.extend_from_slice(&data),
                    },
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        out.stderr.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.exit_status = Some(exit_status),
                    _ => {}
                }
            }
            out
        };
        tokio::pin!(write, read);
        let out = tokio::select! {
            // The command ended (it may not have wanted all its input): stop sending.
            out = &mut read => out,
            written = &mut write => {
                written?;
                read.await
            }
        };
        // A command cut off by a dropped link ends without a status: that is not an answer.
        if out.exit_status.is_none() && self.handle.is_closed() {
            return Err(SshError::Disconnected {
                host: self.endpoint.host.clone(),
                reason: "the link dropped while the command ran".into(),
            });
        }
        Ok(out)
    }

    /// A new session channel. OpenSSH allows ten per connection (`MaxSessions`, which
    /// [`SESSIONS`] keeps to) and counts a closed one until its next turn of work: channels
    /// opened right after others closed were refused at 20 ms of round trip ("no more
    /// sessions" in its log). A refusal is asked again a few times, a little later each time
    /// (2.5 s in all), before it is an error.
    async fn session_channel(&self) -> Result<russh::Channel<client::Msg>, russh::Error> {
        let mut wait = std::time::Duration::from_millis(20);
        for _ in 0..7 {
            match self.handle.channel_open_session().await {
                Err(russh::Error::ChannelOpenFailure(reason)) => {
                    tracing::debug!(?reason, "the server refused a channel; asking again");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                other => return other,
            }
        }
        self.handle.channel_open_session().await
    }

    /// How many more commands could start now without waiting for others to end.
    pub fn free_sessions(&self) -> usize {
        self.sessions.available_permits()
    }

    /// An SFTP session on a new channel of this connection (no new login). It is not counted
    /// among the commands running at once (nothing in the app keeps one).
    pub async fn sftp(&self) -> Result<russh_sftp::client::SftpSession, SshError> {
        let broken = |reason: String| SshError::Disconnected {
            host: self.endpoint.host.clone(),
            reason,
        };
        let channel = self
            .session_channel()
            .await
            .map_err(|e| broken(e.to_string()))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| broken(e.to_string()))?;
        // Many large writes in flight: the defaults (16 × 32 KiB) cap throughput at a few MB/s
        // as soon as there is network latency.
        let config = russh_sftp::client::Config {
            max_concurrent_writes: 64,
            max_concurrent_reads: 64,
            max_write_packet_len: 255 * 1024,
            request_timeout_secs: 60,
            ..Default::default()
        };
        russh_sftp::client::SftpSession::new_with_config(channel.into_stream(), config)
            .await
            .map_err(|e| broken(format!("SFTP did not start: {e}")))
    }

    /// A byte stream to `host:port` as the login node reaches it (`direct-tcpip`, what
    /// `ssh -L` asks for), on this connection: no new login, no new one-time code. A login
    /// node that does not forward answers [`SshError::NotForwarded`].
    pub async fn open_direct(
        &self,
        host: &str,
        port: u16,
    ) -> Result<impl AsyncRead + AsyncWrite + Unpin + Send + 'static, SshError> {
        match self
            .handle
            .channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0)
            .await
        {
            Ok(channel) => Ok(channel.into_stream()),
            Err(russh::Error::ChannelOpenFailure(why)) => Err(SshError::NotForwarded {
                target: format!("{host}:{port}"),
                reason: match why {
                    russh::ChannelOpenFailure::AdministrativelyProhibited => {
                        "forwarding is turned off".into()
                    }
                    russh::ChannelOpenFailure::ConnectFailed => "cannot connect".into(),
                    other => format!("{other:?}"),
                },
            }),
            Err(e) => Err(SshError::Disconnected {
                host: self.endpoint.host.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// `command`'s stdin and stdout as one byte stream (a relay through the cluster when the
    /// login node does not forward). Like an SFTP session, it is not counted among the
    /// commands running at once: it lives as long as what it carries.
    pub async fn open_pipe(
        &self,
        command: &str,
    ) -> Result<impl AsyncRead + AsyncWrite + Unpin + Send + 'static, SshError> {
        let broken = |e: russh::Error| SshError::Disconnected {
            host: self.endpoint.host.clone(),
            reason: e.to_string(),
        };
        let channel = self.session_channel().await.map_err(broken)?;
        channel.exec(true, command).await.map_err(broken)?;
        Ok(channel.into_stream())
    }

    /// Closes the connection politely (the server logs a normal disconnect).
    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "bye", "en")
            .await;
    }
}
