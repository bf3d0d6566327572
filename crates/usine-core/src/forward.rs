//! Ports of a job's node reached from this computer, on the cluster's one connection: a
//! listener on 127.0.0.1 whose every connection becomes a `direct-tcpip` channel through the
//! login node (what `ssh -L` does), or, where the login node does not forward, a pipe through
//! `srun --overlap` into the job to a small relay on the node. No second login, no new code:
//! a connection dropped in between is opened again quietly when the next browser request
//! comes, and the listener stays where it was.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use ts_rs::TS;

use crate::cluster::{ClusterError, ClusterSettings, Connections};
use crate::ssh::{Connection, SshError, quote};
use crate::sync::Locked;

/// How the bytes reach the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Route {
    /// Through the login node's forwarding, as `ssh -L`.
    Direct,
    /// The login node does not forward: through the job, with this program on the node.
    Relay { program: String },
}

/// A port of a job's node, reachable on this computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ForwardView {
    /// Usine's id for the forward (the job's for a session).
    pub id: String,
    pub cluster: String,
    /// Slurm's job id.
    pub job: String,
    pub node: String,
    pub port: u16,
    /// The port on 127.0.0.1 that reaches it.
    pub local_port: u16,
    pub route: Route,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("{}", crate::tr!(
        en: "The login node of {} does not pass connections on, and the job's node has none of socat, python3 or nc to relay them. Ask the site's support how to reach a port of a running job.",
        fr: "Le nœud de connexion de {} ne transmet pas les connexions, et le nœud du job n'a ni socat, ni python3, ni nc pour les relayer. Demandez au support du site comment joindre un port d'un job en cours.",
        .0
    ))]
    NoRelay(String),
    #[error(transparent)]
    Job(#[from] crate::jobs::scheduler::JobError),
    #[error("{}", crate::tr!(
        en: "Job {} is not running on {} now (its nodes: {}). Forward a port of a running job, on one of its nodes.",
        fr: "Le job {} ne tourne pas sur {} maintenant (ses nœuds : {}). Redirigez un port d'un job en cours, sur l'un de ses nœuds.",
        .job, .node, .nodes
    ))]
    NotOnNode {
        job: String,
        node: String,
        nodes: String,
    },
    #[error("{}", crate::tr!(
        en: "Jobs on this computer listen on this computer already: open http://127.0.0.1:{}/ directly.",
        fr: "Les jobs sur cet ordinateur écoutent déjà sur cet ordinateur : ouvrez directement http://127.0.0.1:{}/.",
        .0
    ))]
    Here(u16),
    #[error("{}", crate::tr!(
        en: "No port is free on this computer for the forward ({}). Close another forward or program, then try again.",
        fr: "Aucun port n'est libre sur cet ordinateur pour la redirection ({}). Fermez une autre redirection ou un programme, puis réessayez.",
        .0
    ))]
    Local(String),
}

impl crate::error_kind::HasKind for ForwardError {
    fn kind(&self) -> crate::error_kind::ErrorKind {
        match self {
            Self::Cluster(e) => e.kind(),
            Self::Ssh(e) => e.kind(),
            Self::Job(e) => e.kind(),
            Self::NoRelay(_) | Self::NotOnNode { .. } => crate::error_kind::ErrorKind::Refused,
            Self::Here(_) => crate::error_kind::ErrorKind::Invalid,
            Self::Local(_) => crate::error_kind::ErrorKind::Local,
        }
    }
}

/// Where to forward to: a port of a node of a running job of a cluster.
#[derive(Debug, Clone)]
pub struct Destination {
    pub settings: ClusterSettings,
    pub job: String,
    pub node: String,
    pub port: u16,
}

struct Open {
    view: ForwardView,
    task: tokio::task::AbortHandle,
}

/// The forwards open in this process.
#[derive(Clone, Default)]
pub struct Forwards {
    open: Arc<std::sync::Mutex<HashMap<String, Open>>>,
}

impl Forwards {
    /// Opens a forward named `id` to `to` (the one open under that name if it goes to the same
    /// place), trying the login node's forwarding first. `local_port` 0 takes a free one.
    pub async fn open(
        &self,
        connections: &Connections,
        id: &str,
        to: Destination,
        local_port: u16,
    ) -> Result<ForwardView, ForwardError> {
        if let Some(open) = self.open.locked().get(id)
            && open.view.node == to.node
            && open.view.port == to.port
            && !open.task.is_finished()
        {
            return Ok(open.view.clone());
        }
        self.close(id);
        let conn = connections.get_quietly(&to.settings).await?;
        let route = choose_route(&conn, &to).await?;
        let listener = TcpListener::bind(("127.0.0.1", local_port))
            .await
            .map_err(|e| ForwardError::Local(e.to_string()))?;
        let local_port = listener
            .local_addr()
            .map_err(|e| ForwardError::Local(e.to_string()))?
            .port();
        let view = ForwardView {
            id: id.to_owned(),
            cluster: to.settings.name.clone(),
            job: to.job.clone(),
            node: to.node.clone(),
            port: to.port,
            local_port,
            route: route.clone(),
        };
        tracing::info!(cluster = %view.cluster, job = %view.job, node = %view.node, port = view.port, local_port, ?route, "forward open");
        let task = tokio::spawn(serve(listener, connections.clone(), to, route)).abort_handle();
        self.open.locked().insert(
            id.to_owned(),
            Open {
                view: view.clone(),
                task,
            },
        );
        Ok(view)
    }

    pub fn list(&self) -> Vec<ForwardView> {
        let mut all: Vec<_> = self
            .open
            .locked()
            .values()
            .map(|o| o.view.clone())
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn get(&self, id: &str) -> Option<ForwardView> {
        self.open.locked().get(id).map(|o| o.view.clone())
    }

    /// Stops listening; connections already made end with it.
    pub fn close(&self, id: &str) -> bool {
        match self.open.locked().remove(id) {
            Some(open) => {
                open.task.abort();
                true
            }
            None => false,
        }
    }
}

/// The nodes a job of the cluster runs on now, as Slurm names them (none once it ended).
pub async fn nodes_of(conn: &Connection, job: &str) -> Result<Vec<String>, SshError> {
    let out = conn
        .exec(&format!(
            "scontrol show hostnames \"$(squeue -h -j {} -t R -o %N)\" 2>/dev/null",
            quote(job)
        ))
        .await?;
    Ok(out
        .stdout_text()
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect())
}

/// A port of a running job that an expert wants on this computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPort {
    /// Usine's id of the job, or Slurm's.
    pub job: String,
    pub port: u16,
    /// One of the job's nodes; its first when `None`.
    pub node: Option<String>,
    /// The port here; 0 takes any free one.
    pub local_port: u16,
}

/// Forwards a port of a running job's node to 127.0.0.1: `usine forward JOB PORT`, for
/// experts' own servers.
pub async fn to_job(
    store: &std::sync::Mutex<crate::store::Store>,
    connections: &Connections,
    forwards: &Forwards,
    how: &crate::jobs::targets::Opening,
    wanted: &JobPort,
) -> Result<ForwardView, ForwardError> {
    use crate::jobs::scheduler::JobError;
    let (job, port, node) = (wanted.job.as_str(), wanted.port, wanted.node.as_deref());
    let entry = crate::jobs::history::get(&crate::store::lock(store), job)
        .map_err(|_| JobError::NotFound(job.to_owned()))?;
    if entry.target == crate::target::THIS_COMPUTER_ID {
        return Err(ForwardError::Here(port));
    }
    let scheduler = crate::jobs::targets::open_as(store, connections, &entry.target, how).await?;
    let Some(ssh) = scheduler.ssh() else {
        return Err(ForwardError::Here(port));
    };
    let scheduler_id = entry.scheduler_id.clone().unwrap_or_default();
    let nodes = nodes_of(ssh.connection(), &scheduler_id).await?;
    let chosen = match node {
        Some(n) => nodes.iter().find(|m| *m == n).cloned(),
        None => nodes.first().cloned(),
    };
    let Some(chosen) = chosen else {
        return Err(ForwardError::NotOnNode {
            job: scheduler_id,
            node: node.unwrap_or("-").to_owned(),
            nodes: nodes.join(", "),
        });
    };
    let settings =
        crate::cluster::get(&crate::store::lock(store), &entry.target).map_err(JobError::from)?;
    let to = Destination {
        settings,
        job: scheduler_id,
        node: chosen,
        port,
    };
    forwards
        .open(
            connections,
            &format!("{}:{port}", entry.id),
            to,
            wanted.local_port,
        )
        .await
}

/// The login node's forwarding when it reaches the node; otherwise a relay through the job.
async fn choose_route(conn: &Connection, to: &Destination) -> Result<Route, ForwardError> {
    match conn.open_direct(&to.node, to.port).await {
        Ok(probe) => {
            drop(probe);
            return Ok(Route::Direct);
        }
        Err(SshError::NotForwarded { reason, .. }) => {
            tracing::info!(%reason, "the login node does not forward: relaying through the job");
        }
        Err(e) => return Err(e.into()),
    }
    let find = format!(
        "{} sh -c 'for p in socat python3 nc; do command -v $p >/dev/null && {{ echo $p; exit 0; }}; done; exit 1'",
        in_job(&to.job, &to.node)
    );
    let out = conn.exec(&find).await?;
    let program = out.stdout_text().trim().to_owned();
    if !out.success() || !matches!(program.as_str(), "socat" | "python3" | "nc") {
        return Err(ForwardError::NoRelay(to.settings.name.clone()));
    }
    Ok(Route::Relay { program })
}

/// `srun` into the job, on its node, beside what already runs there.
fn in_job(job: &str, node: &str) -> String {
    format!(
        "srun --jobid={} --overlap --nodes=1 --ntasks=1 --nodelist={} --quiet --unbuffered",
        quote(job),
        quote(node)
    )
}

/// Copies stdin to a TCP connection and back, until either side ends.
const PYTHON_RELAY: &str = "import os,socket,sys,threading
s=socket.create_connection((sys.argv[1],int(sys.argv[2])))
def up():
    while True:
        b=os.read(0,65536)
        if not b: break
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up,daemon=True).start()
o=sys.stdout.buffer
while True:
    b=s.recv(65536)
    if not b: break
    o.write(b); o.flush()";

fn relay_command(program: &str, to: &Destination) -> String {
    let (node, port) = (quote(&to.node), to.port);
    let relay = match program {
        "socat" => format!("socat - TCP:{node}:{port}"),
        "python3" => format!("python3 -c {} {node} {port}", quote(PYTHON_RELAY)),
        _ => format!("nc {node} {port}"),
    };
    format!("{} {relay}", in_job(&to.job, &to.node))
}

async fn serve(listener: TcpListener, connections: Connections, to: Destination, route: Route) {
    let to = Arc::new(to);
    loop {
        let mut socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(error) => {
                // Out of file descriptors, say: wait instead of spinning.
                tracing::warn!(%error, "the forward could not accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        let (connections, to, route) = (connections.clone(), to.clone(), route.clone());
        tokio::spawn(async move {
            if let Err(error) = carry(&mut socket, &connections, &to, &route).await {
                tracing::warn!(%error, node = %to.node, port = to.port, "a forwarded connection failed");
            }
        });
    }
}

/// One browser connection, both ways, on the cluster's connection as it is now (opened again
/// quietly if it dropped).
async fn carry(
    socket: &mut tokio::net::TcpStream,
    connections: &Connections,
    to: &Destination,
    route: &Route,
) -> Result<(), ForwardError> {
    let _ = socket.set_nodelay(true);
    let conn = connections.get_quietly(&to.settings).await?;
    let mut far: Box<dyn Stream> = match route {
        Route::Direct => Box::new(conn.open_direct(&to.node, to.port).await?),
        Route::Relay { program } => Box::new(conn.open_pipe(&relay_command(program, to)).await?),
    };
    // The end of either side is the end: a browser that closes, a server that hangs up.
    let _ = tokio::io::copy_bidirectional(socket, &mut far).await;
    Ok(())
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_reach_the_node_inside_the_job_with_every_word_quoted() {
        let to = Destination {
            settings: ClusterSettings {
                name: "lab".into(),
                site: None,
                host: "login.example.eu".into(),
                port: 22,
                user: "ana".into(),
                login: crate::cluster::Login::Agent,
                jumps: Vec::new(),
                rest_url: None,
            },
            job: "123".into(),
            node: "gpu-01".into(),
            port: 8888,
        };
        let cmd = relay_command("socat", &to);
        assert_eq!(
            cmd,
            "srun --jobid=123 --overlap --nodes=1 --ntasks=1 --nodelist=gpu-01 --quiet --unbuffered socat - TCP:gpu-01:8888"
        );
        let evil = Destination {
            node: "x;rm -rf ~".into(),
            ..to
        };
        assert!(relay_command("python3", &evil).contains("'x;rm -rf ~' 8888"));
    }

    /// The Python relay, run by a real python3 here, carries bytes both ways and ends when
    /// its input ends.
    #[test]
    fn the_python_relay_carries_bytes_both_ways() {
        use std::io::{Read, Write};
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            s.write_all(&got.iter().rev().copied().collect::<Vec<_>>())
                .unwrap();
        });
        let mut relay = std::process::Command::new("python3")
            .args(["-c", PYTHON_RELAY, "127.0.0.1", &port.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        relay.stdin.take().unwrap().write_all(&data).unwrap();
        let out = relay.wait_with_output().unwrap();
        echo.join().unwrap();
        assert_eq!(out.stdout, data.iter().rev().copied().collect::<Vec<_>>());
    }
}
