//! `usine ls`, `usine mkdir`, `usine mv`, `usine rm`: the cluster's files, as the shell's
//! commands of the same names behave.

use std::sync::Mutex;

use clap::Args;
use usine_core::cluster::Connections;
use usine_core::cluster_files::{
    self as files, EntryKind, IfTaken, Moved, OnCluster, SortBy, View,
};
use usine_core::store::Store;

use crate::{print_json, terminal};

/// The store and connections one command works with.
struct Here {
    store: Mutex<Store>,
    connections: Connections,
}

impl Here {
    fn open() -> anyhow::Result<Self> {
        Ok(Here {
            store: Mutex::new(Store::open_default()?),
            connections: Connections::default(),
        })
    }

    fn on<'a>(&'a self, cluster: &'a str) -> OnCluster<'a> {
        OnCluster {
            store: &self.store,
            connections: &self.connections,
            cluster,
            questions: terminal::questions(),
        }
    }
}

#[derive(Args)]
pub struct LsArgs {
    /// CLUSTER:PATH, e.g. `lab:~/runs` (`lab:` is the home).
    target: String,
    /// Show hidden entries (names starting with a dot).
    #[arg(short = 'a', long)]
    all: bool,
    /// Sort by size, largest first.
    #[arg(short = 'S', conflicts_with = "time")]
    size: bool,
    /// Sort by modification time, newest first.
    #[arg(short = 't')]
    time: bool,
    /// Reverse the order.
    #[arg(short = 'r', long)]
    reverse: bool,
}

pub async fn ls(args: LsArgs, json: bool) -> anyhow::Result<()> {
    let (cluster, path) = files::split_target(&args.target)?;
    let here = Here::open()?;
    let page = files::list(&here.on(cluster), path)
        .await?
        .page(&view(&args));
    if json {
        print_json(&page);
    }
    for e in page.entries.iter().filter(|_| !json) {
        println!("{:>10}  {}{}", human(e.size), e.shown_name(), mark(e.kind));
    }
    Ok(())
}

/// The order `ls`'s flags ask for (`-S` and `-t` put the largest or newest first).
fn view(args: &LsArgs) -> View {
    let (sort, biggest_first) = match (args.size, args.time) {
        (true, _) => (SortBy::Size, true),
        (_, true) => (SortBy::Modified, true),
        _ => (SortBy::Name, false),
    };
    View {
        sort,
        descending: biggest_first != args.reverse,
        show_hidden: args.all,
        offset: 0,
        limit: usize::MAX,
    }
}

/// What `ls -F` appends: `/` to folders, `@` to links.
fn mark(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Folder => "/",
        EntryKind::LinkToFolder | EntryKind::LinkToFile | EntryKind::BrokenLink => "@",
        EntryKind::File | EntryKind::Other => "",
    }
}

#[derive(Args)]
pub struct MkdirArgs {
    /// CLUSTER:PATH of the new folder.
    target: String,
    /// Make the folders above it too; an existing folder is fine.
    #[arg(short = 'p', long)]
    parents: bool,
}

pub async fn mkdir(args: MkdirArgs) -> anyhow::Result<()> {
    let (cluster, path) = files::split_target(&args.target)?;
    let here = Here::open()?;
    files::make_folder(&here.on(cluster), path, args.parents).await?;
    Ok(())
}

#[derive(Args)]
pub struct MvArgs {
    /// CLUSTER:PATH to move or rename.
    from: String,
    /// Its new path on the same cluster (CLUSTER: may be left out).
    to: String,
    /// Never replace what has the new name.
    #[arg(short = 'n', long = "no-clobber", conflicts_with = "interactive")]
    no_clobber: bool,
    /// Ask before replacing what has the new name.
    #[arg(short = 'i', long)]
    interactive: bool,
}

pub async fn mv(args: MvArgs) -> anyhow::Result<bool> {
    let (cluster, from) = files::split_target(&args.from)?;
    let to = files::path_on(cluster, &args.to)?;
    let here = Here::open()?;
    let ask = args.no_clobber || args.interactive;
    let taken = if ask { IfTaken::Ask } else { IfTaken::Replace };
    let Moved::Taken { shown, .. } = files::move_to(&here.on(cluster), from, to, taken).await?
    else {
        return Ok(true);
    };
    if args.interactive && terminal::confirm(&format!("replace {shown}?")) {
        files::move_to(&here.on(cluster), from, to, IfTaken::Replace).await?;
        return Ok(true);
    }
    eprintln!("{shown} already exists; nothing was moved");
    Ok(false)
}

#[derive(Args)]
pub struct RmArgs {
    /// CLUSTER:PATH of each file or folder to delete.
    #[arg(required = true)]
    targets: Vec<String>,
    /// Delete folders and everything in them.
    #[arg(short = 'r', short_alias = 'R', long)]
    recursive: bool,
    /// Say nothing of what is not there.
    #[arg(short = 'f', long)]
    force: bool,
    /// Ask before each delete, saying what it holds.
    #[arg(short = 'i')]
    interactive: bool,
}

/// Deletes each target; goes on after a failure, as `rm` does, and says so in the exit status.
pub async fn rm(args: RmArgs) -> anyhow::Result<bool> {
    let here = Here::open()?;
    let mut all_ok = true;
    for target in &args.targets {
        let (cluster, path) = files::split_target(target)?;
        let on = here.on(cluster);
        if args.interactive && !confirmed(&on, target, path).await? {
            continue;
        }
        match files::delete(&on, path, args.recursive).await {
            Err(files::FilesError::Gone(_)) if args.force => {}
            Err(error) => all_ok = said(error),
            Ok(_) => {}
        }
    }
    Ok(all_ok)
}

/// `rm -i`: asks, saying what the target holds.
async fn confirmed(on: &OnCluster<'_>, target: &str, path: &str) -> anyhow::Result<bool> {
    let size = files::measure(on, path).await?;
    let what = format!("{} files, {}", size.files, human(size.bytes));
    Ok(terminal::confirm(&format!("delete {target} ({what})?")))
}

/// Prints the error; false.
fn said(error: files::FilesError) -> bool {
    eprintln!("usine: {error}");
    false
}

/// Bytes as `ls -h` shows them.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}
