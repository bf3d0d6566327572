//! `usine cluster …`: add, list, connect, forget.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Subcommand};
use usine_core::browser_login::{CertificateAuthority, Way};
use usine_core::cluster::{self, ClusterSettings, Connections, Login, NewCluster};
use usine_core::discovery::ClusterProfile;
use usine_core::ssh::certificate::CertificateState;
use usine_core::ssh_config;
use usine_core::store::Store;

use crate::{print_json, terminal};

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Remember a cluster: from the site catalogue (--site) or by hand (--host).
    Add(Box<AddArgs>),
    /// Add hosts from your OpenSSH config (all of them, or the ones named).
    Import {
        /// Host aliases to import; none means every concrete `Host` entry.
        aliases: Vec<String>,
        /// The config file to read.
        #[arg(long, default_value_os_t = ssh_config::default_path())]
        config: PathBuf,
    },
    /// List the clusters you added.
    List,
    /// Log in (asking for codes as needed) and show what the cluster offers you.
    Connect {
        name: String,
        /// A browser login with a code typed in a browser on any device (for machines
        /// without one).
        #[arg(long)]
        device: bool,
    },
    /// Forget a cluster (key files and their passphrases stay; a browser login's refresh token
    /// is removed from the keychain).
    Forget { name: String },
}

#[derive(Args)]
pub struct AddArgs {
    /// Your name for the cluster.
    name: String,
    /// A site from the catalogue (lumi, leonardo, meluxina, …): fills in host and port.
    #[arg(long)]
    site: Option<String>,
    #[arg(long)]
    host: Option<String>,
    #[arg(long)]
    port: Option<u16>,
    /// Your user name on the cluster.
    #[arg(long)]
    user: String,
    /// Private key file to log in with.
    #[arg(long)]
    key: Option<PathBuf>,
    /// OpenSSH certificate for that key.
    #[arg(long, requires = "key")]
    certificate: Option<PathBuf>,
    /// The site asks for a one-time code (after the key, or with a password when no key).
    #[arg(long)]
    code: bool,
    /// Use the keys of the running ssh-agent.
    #[arg(long, conflicts_with_all = ["key", "code"])]
    agent: bool,
    /// A bastion to cross first, as user@host[:port] (logs in with the same key or agent).
    #[arg(long = "jump")]
    jumps: Vec<String>,
    /// The site's slurmrestd URL, when it offers one: jobs then go through it (a token is
    /// fetched over SSH with `scontrol token`).
    #[arg(long)]
    rest: Option<String>,
    /// `browser`: log in through the browser; a certificate authority signs a key made for
    /// each session (the site's, from --site, or the one the flags below describe).
    #[arg(long, value_enum, conflicts_with_all = ["key", "agent", "code"])]
    login: Option<LoginFlag>,
    #[command(flatten)]
    authority: AuthorityArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LoginFlag {
    Browser,
}

/// A certificate authority given by hand (a site the catalogue does not know).
#[derive(Args)]
pub struct AuthorityArgs {
    /// A step-ca's address (with --fingerprint and --provisioner, as `step ca bootstrap`).
    #[arg(long, requires_all = ["fingerprint", "provisioner"])]
    ca_url: Option<String>,
    /// The SHA-256 fingerprint of the step-ca's root certificate.
    #[arg(long)]
    fingerprint: Option<String>,
    /// The step-ca provisioner's name.
    #[arg(long)]
    provisioner: Option<String>,
    /// The federation's sshca address with its CA name (with --issuer, --client-id, --resource).
    #[arg(long, requires_all = ["issuer", "client_id", "resource"])]
    sshca: Option<String>,
    /// The site name the federation's certificate is for.
    #[arg(long)]
    resource: Option<String>,
    /// A signing service taking a bearer token (with --issuer and --client-id).
    #[arg(long, requires_all = ["issuer", "client_id"])]
    signer: Option<String>,
    /// How long the signing service's certificates last, in its words.
    #[arg(long, default_value = "1d")]
    duration: String,
    /// The identity provider (OpenID Connect issuer).
    #[arg(long)]
    issuer: Option<String>,
    /// Usine's client id at that identity provider.
    #[arg(long)]
    client_id: Option<String>,
    /// Also put each certificate in your ssh-agent until it ends, so that your own ssh, VS
    /// Code or rsync log in with it too.
    #[arg(long)]
    lend_to_agent: bool,
}

pub async fn run(command: ClusterCommand, json: bool) -> anyhow::Result<()> {
    let store = Store::open_default()?;
    match command {
        ClusterCommand::Add(args) => add(&store, *args),
        ClusterCommand::Import { aliases, config } => import(&store, &aliases, &config),
        ClusterCommand::List => list(&store, json),
        ClusterCommand::Connect { name, device } => connect(store, &name, device, json).await,
        ClusterCommand::Forget { name } => {
            let (store, connections) = (std::sync::Mutex::new(store), Connections::default());
            cluster::forget_with_login(&store, &connections, &name).await?;
            println!("Forgot {name}.");
            Ok(())
        }
    }
}

pub fn add(store: &Store, args: AddArgs) -> anyhow::Result<()> {
    let s = cluster::add_new(store, &new_cluster(args)?)?;
    println!(
        "Added {} ({}@{}:{}). Next: usine cluster connect {}",
        s.name, s.user, s.host, s.port, s.name
    );
    Ok(())
}

pub fn import(store: &Store, aliases: &[String], config: &Path) -> anyhow::Result<()> {
    let done = ssh_config::add_hosts(store, config, aliases);
    done.notes.iter().for_each(|n| eprintln!("note: {n}"));
    for s in &done.added {
        println!("Added {} ({}@{}:{})", s.name, s.user, s.host, s.port);
    }
    done.skipped
        .iter()
        .for_each(|(n, e)| eprintln!("Skipped {n}: {e}"));
    for missing in &done.missing {
        eprintln!("No `Host {missing}` in {}", config.display());
    }
    if done.added.is_empty() {
        bail!("nothing imported from {}", config.display());
    }
    Ok(())
}

pub fn list(store: &Store, json: bool) -> anyhow::Result<()> {
    let clusters = cluster::list(store)?;
    if json {
        print_json(&cluster::views(
            store,
            &Default::default(),
            &Default::default(),
        )?);
    } else if clusters.is_empty() {
        println!(
            "No cluster yet. Add one with: usine cluster add NAME --site lumi --user YOU --key ~/.ssh/id_ed25519"
        );
    }
    clusters.iter().filter(|_| !json).for_each(print_cluster);
    Ok(())
}

fn print_cluster(c: &ClusterSettings) {
    let cert = match c.certificate_status() {
        Some(s) if s.state != CertificateState::Valid => {
            format!("  (certificate {:?}: get a new one)", s.state).to_lowercase()
        }
        _ => String::new(),
    };
    println!("{:<16} {}@{}:{}{cert}", c.name, c.user, c.host, c.port);
}

pub async fn connect(store: Store, name: &str, device: bool, json: bool) -> anyhow::Result<()> {
    eprintln!("Connecting to {name}…");
    let (store, mut connections) = (std::sync::Mutex::new(store), Connections::default());
    if device {
        connections.login_way = Way::DeviceCode;
    }
    let profile = cluster::connect(&store, &connections, name, terminal::questions(), |_| {});
    let profile = profile.await?;
    if json {
        print_json(&profile);
    } else {
        print_profile(name, &profile);
    }
    Ok(())
}

/// The cluster the flags describe; how it logs in follows from --key, --agent and --code.
fn new_cluster(a: AddArgs) -> anyhow::Result<NewCluster> {
    let login = match (a.login, a.key, a.agent, a.code) {
        (Some(LoginFlag::Browser), ..) => Login::Browser {
            authority: authority(&a.authority, a.site.as_deref())?,
            share_with_agent: a.authority.lend_to_agent,
        },
        (None, key, agent, code) => key_login(key, agent, code, a.certificate)?,
    };
    if a.site.is_none() && a.host.is_none() {
        bail!("say where the cluster is: --site SITE or --host HOST");
    }
    Ok(NewCluster {
        name: a.name,
        site: a.site,
        host: a.host,
        port: a.port,
        user: a.user,
        login,
        jumps: a.jumps,
        rest_url: a.rest,
    })
}

fn key_login(
    key: Option<PathBuf>,
    agent: bool,
    code: bool,
    certificate: Option<PathBuf>,
) -> anyhow::Result<Login> {
    Ok(match (key, agent, code) {
        (Some(key), _, false) => Login::Key { key, certificate },
        (Some(key), _, true) => Login::KeyThenCode { key },
        (None, true, _) => Login::Agent,
        (None, false, true) => Login::PasswordAndCode,
        (None, false, false) => {
            bail!("say how you log in: --key FILE, --agent, --code, or --login browser")
        }
    })
}

/// The certificate authority the flags name, else the site's.
fn authority(a: &AuthorityArgs, site: Option<&str>) -> anyhow::Result<CertificateAuthority> {
    let need = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(match (&a.ca_url, &a.sshca, &a.signer) {
        (Some(ca_url), ..) => CertificateAuthority::StepCa {
            ca_url: ca_url.clone(),
            fingerprint: need(&a.fingerprint),
            provisioner: need(&a.provisioner),
        },
        (None, Some(ca_url), _) => CertificateAuthority::Sshca {
            ca_url: ca_url.clone(),
            issuer: need(&a.issuer),
            client_id: need(&a.client_id),
            resource: need(&a.resource),
        },
        (None, None, Some(sign_url)) => CertificateAuthority::SigningService {
            sign_url: sign_url.clone(),
            issuer: need(&a.issuer),
            client_id: need(&a.client_id),
            duration: a.duration.clone(),
        },
        (None, None, None) => match site.and_then(usine_core::sites::find) {
            Some(site) => site.certificate_authority.ok_or_else(|| {
                anyhow::anyhow!(
                    "{} has no browser login in Usine's catalogue: name its certificate authority (--ca-url, --sshca or --signer)",
                    site.name
                )
            })?,
            None => bail!("say which certificate authority signs: --site, --ca-url, --sshca or --signer"),
        },
    })
}

fn print_profile(name: &str, p: &ClusterProfile) {
    println!("Connected to {name} (Slurm {}).", p.slurm_version);
    println!("\nPartitions (where jobs run):");
    for part in &p.partitions {
        let gpus = match (&part.gpu_type, part.gpus_per_node) {
            (_, 0) => "no GPUs".to_owned(),
            (Some(t), n) => format!("{n} × {t} GPUs per node"),
            (None, n) => format!("{n} GPUs per node"),
        };
        let time = part
            .max_time_minutes
            .map_or("no time limit".to_owned(), |m| {
                format!("up to {} h", m / 60)
            });
        println!(
            "  {:<16} {:>4} nodes, {gpus}, {time}{}",
            part.name,
            part.nodes,
            if part.is_default { " (default)" } else { "" }
        );
    }
    println!("\nProjects (Slurm accounts):");
    for a in &p.accounts {
        match a.gpu_hours_left() {
            Some(left) => println!("  {:<16} {left:.1} GPU hours left", a.name),
            None => println!("  {:<16} no GPU-hour limit set by Slurm", a.name),
        }
    }
    if let Some(report) = &p.budget_report {
        println!("\nThe site's budget report:\n{report}");
    }
    println!("\nStorage:");
    for area in &p.storage {
        match area.free_bytes {
            Some(free) => println!(
                "  {:<8} {} ({:.1} GiB free)",
                area.kind,
                area.path,
                free as f64 / (1u64 << 30) as f64
            ),
            None => println!("  {:<8} {}", area.kind, area.path),
        }
    }
}
