//! A TCP relay on 127.0.0.1 whose link can be cut and restored, to play a dropped network
//! between Usine and the lab's sshd.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// alice's cluster settings and connections through a [`CuttableProxy`] in front of the lab's
/// login node: what fault tests cut and restore.
pub async fn relayed_alice(
    lab: &crate::Lab,
) -> (
    Arc<CuttableProxy>,
    usine_core::cluster::ClusterSettings,
    usine_core::cluster::Connections,
) {
    let proxy =
        Arc::new(CuttableProxy::start(lab.var("USINE_LAB_SSH_PORT").parse().unwrap()).await);
    let settings = alice_cluster(lab, "relay", proxy.port());
    let connections = usine_core::cluster::Connections::new(lab.host_keys_for_port(proxy.port()));
    (proxy, settings, connections)
}

/// alice's cluster settings (key login, no site) for the login node reached on `port`.
pub fn alice_cluster(
    lab: &crate::Lab,
    name: &str,
    port: u16,
) -> usine_core::cluster::ClusterSettings {
    usine_core::cluster::ClusterSettings {
        name: name.into(),
        site: None,
        host: "127.0.0.1".into(),
        port,
        user: "alice".into(),
        login: usine_core::cluster::Login::Key {
            key: lab.var("USINE_LAB_KEY").into(),
            certificate: None,
        },
        jumps: vec![],
        rest_url: None,
    }
}

pub struct CuttableProxy {
    port: u16,
    cut: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl CuttableProxy {
    /// Relays 127.0.0.1:<port()> to `target_port` on 127.0.0.1.
    pub async fn start(target_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = watch::channel(0u64);
        let (flag, gen_tx) = (cut.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    drop(client); // the network is down: the connection dies at once
                    continue;
                }
                let mut gen_rx = gen_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = gen_rx.changed() => {} // cut: both sockets close when dropped
                    }
                });
            }
        });
        Self {
            port,
            cut,
            generation,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every relayed connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// A TCP relay on 127.0.0.1 that delays every chunk by `one_way` in each direction, like a
/// distant cluster: throughput is kept (chunks are pipelined), only latency is added.
pub struct DelayProxy {
    port: u16,
}

impl DelayProxy {
    pub async fn start(target_port: u16, one_way: std::time::Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)).await else {
                        return;
                    };
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(delayed(cr, sw, one_way), delayed(sr, cw, one_way));
                });
            }
        });
        Self { port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

async fn delayed(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: std::time::Duration,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 256 << 10];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0
                || tx
                    .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
