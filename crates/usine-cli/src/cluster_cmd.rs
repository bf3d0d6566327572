//! `usine cluster …`: add, list, connect, forget.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use usine_core::cluster::{self, ClusterSettings, Connections, Jump, Login};
use usine_core::discovery::ClusterProfile;
use usine_core::ssh::certificate::CertificateState;
use usine_core::store::Store;
use usine_core::{sites, ssh_config};

use crate::{print_json, terminal};

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Remember a cluster: from the site catalogue (--site) or by hand (--host).
    Add(AddArgs),
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
    Connect { name: String },
    /// Forget a cluster (keys and keychain entries stay).
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
}

pub async fn run(command: ClusterCommand, json: bool) -> anyhow::Result<()> {
    let store = Store::open_default()?;
    match command {
        ClusterCommand::Add(args) => {
            let settings = settings_from(args)?;
            cluster::add(&store, &settings)?;
            println!(
                "Added {} ({}@{}:{}). Next: usine cluster connect {}",
                settings.name, settings.user, settings.host, settings.port, settings.name
            );
        }
        ClusterCommand::Import { aliases, config } => {
            let found = ssh_config::candidates(&config);
            for note in &found.notes {
                eprintln!("note: {note}");
            }
            let mut added = 0;
            for settings in found
                .clusters
                .iter()
                .filter(|c| aliases.is_empty() || aliases.contains(&c.name))
            {
                match cluster::add(&store, settings) {
                    Ok(()) => {
                        added += 1;
                        println!(
                            "Added {} ({}@{}:{})",
                            settings.name, settings.user, settings.host, settings.port
                        );
                    }
                    Err(e) => eprintln!("Skipped {}: {e}", settings.name),
                }
            }
            for missing in aliases
                .iter()
                .filter(|a| !found.clusters.iter().any(|c| &&c.name == a))
            {
                eprintln!("No `Host {missing}` in {}", config.display());
            }
            if added == 0 {
                bail!("nothing imported from {}", config.display());
            }
        }
        ClusterCommand::List => {
            let clusters = cluster::list(&store)?;
            if json {
                print_json(&cluster::views(&store, &Default::default())?);
            } else if clusters.is_empty() {
                println!(
                    "No cluster yet. Add one with: usine cluster add NAME --site lumi --user YOU --key ~/.ssh/id_ed25519"
                );
            } else {
                for c in clusters {
                    let cert = match c.certificate_status() {
                        Some(s) if s.state == CertificateState::Valid => String::new(),
                        Some(s) => {
                            format!("  (certificate {:?}: get a new one)", s.state).to_lowercase()
                        }
                        None => String::new(),
                    };
                    println!("{:<16} {}@{}:{}{cert}", c.name, c.user, c.host, c.port);
                }
            }
        }
        ClusterCommand::Connect { name } => {
            eprintln!("Connecting to {name}…");
            let store = std::sync::Mutex::new(store);
            let connections = Connections::default();
            let questions = terminal::questions();
            let profile = cluster::connect(&store, &connections, &name, questions, |_| {}).await?;
            if json {
                print_json(&profile);
            } else {
                print_profile(&name, &profile);
            }
        }
        ClusterCommand::Forget { name } => {
            cluster::forget(&store, &name)?;
            println!("Forgot {name}.");
        }
    }
    Ok(())
}

fn settings_from(a: AddArgs) -> anyhow::Result<ClusterSettings> {
    let site = a
        .site
        .as_deref()
        .map(|id| {
            sites::find(id)
                .with_context(|| format!("no site “{id}” in the catalogue; use --host instead"))
        })
        .transpose()?;
    let host = match (&a.host, &site) {
        (Some(h), _) => h.clone(),
        (None, Some(s)) => s.hosts[0].clone(),
        (None, None) => bail!("say where the cluster is: --site SITE or --host HOST"),
    };
    let port = a.port.or(site.as_ref().map(|s| s.port)).unwrap_or(22);
    let login = match (a.key, a.agent, a.code) {
        (Some(key), _, false) => Login::Key {
            key,
            certificate: a.certificate,
        },
        (Some(key), _, true) => Login::KeyThenCode { key },
        (None, true, _) => Login::Agent,
        (None, false, true) => Login::PasswordAndCode,
        (None, false, false) => bail!("say how you log in: --key FILE, --agent, or --code"),
    };
    let jumps = a
        .jumps
        .iter()
        .map(|j| parse_jump(j, &login))
        .collect::<anyhow::Result<_>>()?;
    Ok(ClusterSettings {
        name: a.name,
        site: site.map(|s| s.id),
        host,
        port,
        user: a.user,
        login,
        jumps,
        rest_url: a.rest,
    })
}

fn parse_jump(text: &str, login: &Login) -> anyhow::Result<Jump> {
    let (user, rest) = text
        .split_once('@')
        .with_context(|| format!("--jump {text}: write it as user@host[:port]"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .with_context(|| format!("--jump {text}: the port is not a number"))?,
        ),
        None => (rest, 22),
    };
    // A bastion logs in with the same key or agent; codes are for the cluster itself.
    let login = match login {
        Login::KeyThenCode { key } => Login::Key {
            key: key.clone(),
            certificate: None,
        },
        other => other.clone(),
    };
    Ok(Jump {
        host: host.to_owned(),
        port,
        user: user.to_owned(),
        login,
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
