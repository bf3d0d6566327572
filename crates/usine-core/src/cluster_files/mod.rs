//! The cluster's files as a file browser shows them, over the cluster's one connection: its
//! places (home, scratch, work, project, with free space and quota), a folder's entries, the
//! size of a folder, a preview, a log's tail as it grows; and the changes a person makes: a new
//! folder, a rename or move, a delete. The app's browser and `usine ls|mkdir|mv|rm` call these.
//!
//! Names are bytes ([`names`]), and they reach the cluster on the standard input of `xargs -0`,
//! which hands them to a fixed script as `$1`, `$2`: no name is ever parsed by a shell, whatever
//! it holds (quotes, newlines, a leading dash, bytes that are not text). The scripts run with
//! `LC_ALL=C` so the cluster's messages can be recognised; the command line holds no `!` and no
//! `VAR=value` prefix, which a csh login shell would misread. Commands on an exec channel are used
//! rather than SFTP: one round trip lists a folder of 100,000 entries (SFTP's READDIR answers
//! about 100 at a time), and the SFTP library Usine uses cannot carry names that are not UTF-8.

pub mod listing;
pub mod names;
pub mod preview;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use ts_rs::TS;

pub use listing::{Entry, EntryKind, Listing, Page, SortBy, View};
pub use preview::Preview;

use crate::cluster::{ClusterError, Connections};
use crate::ssh::{CommandOutput, Connection, Questions, SshError, quote};
use crate::store::Store;
use crate::sync::Locked;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("{}", crate::tr!(
        en: "The connection to the cluster dropped ({}). Connect again, then refresh.",
        fr: "La connexion au cluster est tombée ({}). Reconnectez-vous, puis actualisez.",
        .0
    ))]
    Offline(#[from] SshError),
    #[error("{}", crate::tr!(
        en: "{} is not there any more (deleted or moved?). Go up a folder and refresh.",
        fr: "{} n'existe plus (supprimé ou déplacé ?). Remontez d'un dossier et actualisez.",
        .0
    ))]
    Gone(String),
    #[error("{}", crate::tr!(
        en: "The cluster does not let you do this with {}: {}. Choose a folder of yours (home, scratch or project).",
        fr: "Le cluster ne vous permet pas cela sur {} : {}. Choisissez un de vos dossiers (home, scratch ou projet).",
        .path, .message
    ))]
    Denied { path: String, message: String },
    #[error("{}", crate::tr!(
        en: "{} holds things that are not yours (for example {}): Usine deletes only what you own, and nothing was deleted. Ask their owner, or your project's administrator.",
        fr: "{} contient des éléments qui ne sont pas à vous (par exemple {}) : Usine ne supprime que ce qui vous appartient, et rien n'a été supprimé. Demandez à leur propriétaire, ou à l'administrateur de votre projet.",
        .path, .example
    ))]
    NotYours { path: String, example: String },
    #[error("{}", crate::tr!(
        en: "{} is one of your storage areas (or the top of the disk): Usine does not delete it whole. Open it and delete what is inside instead.",
        fr: "{} est un de vos espaces de stockage (ou la racine du disque) : Usine ne le supprime pas en entier. Ouvrez-le et supprimez plutôt ce qu'il contient.",
        .0
    ))]
    Protected(String),
    #[error("{}", crate::tr!(
        en: "{} is a folder: say that its contents go too (-r in the terminal).",
        fr: "{} est un dossier : précisez que son contenu part aussi (-r dans le terminal).",
        .0
    ))]
    IsAFolder(String),
    #[error("{}", crate::tr!(
        en: "{} already exists.",
        fr: "{} existe déjà.",
        .0
    ))]
    Exists(String),
    #[error("{}", crate::tr!(
        en: "\"{}\" cannot be a name: a name is not empty, holds no / and is not . or ..",
        fr: "« {} » ne peut pas être un nom : un nom n'est pas vide, ne contient pas de / et n'est ni . ni ..",
        .0
    ))]
    BadName(String),
    #[error("{}", crate::tr!(
        en: "Say the cluster and the path as CLUSTER:PATH, for example lab:~/data (not \"{}\").",
        fr: "Indiquez le cluster et le chemin sous la forme CLUSTER:CHEMIN, par exemple lab:~/data (pas « {} »).",
        .0
    ))]
    NoCluster(String),
    #[error("{}", crate::tr!(
        en: "A move stays on one cluster ({} here, not {}): download it, then upload it there.",
        fr: "Un déplacement reste sur un cluster ({} ici, pas {}) : téléchargez-le, puis envoyez-le là-bas.",
        .from, .to
    ))]
    OtherCluster { from: String, to: String },
    #[error("{}", crate::tr!(
        en: "The cluster could not do it with {}: {}",
        fr: "Le cluster n'a pas pu le faire sur {} : {}",
        .path, .message
    ))]
    Remote { path: String, message: String },
}

impl crate::error_kind::HasKind for FilesError {
    fn kind(&self) -> crate::error_kind::ErrorKind {
        use crate::error_kind::ErrorKind::*;
        match self {
            FilesError::Cluster(e) => e.kind(),
            FilesError::Offline(e) => e.kind(),
            FilesError::Gone(_) => NotFound,
            FilesError::Denied { .. }
            | FilesError::NotYours { .. }
            | FilesError::Protected(_)
            | FilesError::Remote { .. } => Refused,
            FilesError::IsAFolder(_)
            | FilesError::Exists(_)
            | FilesError::BadName(_)
            | FilesError::NoCluster(_)
            | FilesError::OtherCluster { .. } => Invalid,
        }
    }
}

/// Where a use case works: a cluster, reached through the shared connections (logging in first
/// if needed, with `questions` for the person).
pub struct OnCluster<'a> {
    pub store: &'a Mutex<Store>,
    pub connections: &'a Connections,
    pub cluster: &'a str,
    pub questions: Questions,
}

impl OnCluster<'_> {
    async fn connection(&self) -> Result<Arc<Connection>, FilesError> {
        let settings = crate::cluster::get(&crate::store::lock(self.store), self.cluster)?;
        Ok(self
            .connections
            .get(&settings, self.questions.clone())
            .await?)
    }
}

/// `lab:~/data` → (`lab`, `~/data`), as `scp` reads a remote path; `lab:` is the home.
pub fn split_target(text: &str) -> Result<(&str, &str), FilesError> {
    match text.split_once(':') {
        Some((cluster, path)) if !cluster.is_empty() && !cluster.contains('/') => {
            Ok((cluster, if path.is_empty() { "~" } else { path }))
        }
        _ => Err(FilesError::NoCluster(text.to_owned())),
    }
}

/// The path of `text` on `cluster`: `CLUSTER:PATH` naming the same cluster, or a bare path (a
/// move stays on one cluster).
pub fn path_on<'a>(cluster: &str, text: &'a str) -> Result<&'a str, FilesError> {
    match split_target(text) {
        Ok((other, _)) if other != cluster => Err(FilesError::OtherCluster {
            from: cluster.to_owned(),
            to: other.to_owned(),
        }),
        Ok((_, path)) => Ok(path),
        Err(_) => Ok(text),
    }
}

/// Runs `script` with `args` as `$1`, `$2`, …: the arguments travel NUL-separated on stdin.
async fn run(conn: &Connection, script: &str, args: &[&[u8]]) -> Result<CommandOutput, SshError> {
    let mut input = Vec::new();
    for arg in args {
        input.extend_from_slice(arg);
        input.push(0);
    }
    let command = format!("env LC_ALL=C xargs -0 sh -c {} sh", quote(script));
    conn.exec_with_input(&command, crate::transfer::stdin_of(input))
        .await
}

/// The error the cluster's message for `path` means.
fn refusal(path: &[u8], out: &CommandOutput) -> FilesError {
    let message = out.stderr_text().trim().to_owned();
    let path = names::shown(path);
    if message.contains("No such file or directory") {
        FilesError::Gone(path)
    } else if message.contains("Permission denied") || message.contains("Operation not permitted") {
        FilesError::Denied {
            path,
            message: crate::tr!(en: "permission denied", fr: "permission refusée"),
        }
    } else if message.contains("File exists") {
        FilesError::Exists(path)
    } else {
        FilesError::Remote { path, message }
    }
}

/// A path as a person gives it, made absolute: `~` and `~/…` are the home, a relative path is
/// under the home (as `scp` reads `host:path`). `path` is [`names::encode`]d.
pub async fn absolute(conn: &Connection, path: &str) -> Result<Vec<u8>, FilesError> {
    let bytes = names::decode(path);
    if bytes.starts_with(b"/") {
        return Ok(bytes);
    }
    let home = home(conn).await?;
    let rest: &[u8] = match bytes.strip_prefix(b"~") {
        Some(rest) if rest.is_empty() || rest.starts_with(b"/") => rest,
        _ => &bytes,
    };
    let rest = rest.strip_prefix(b"/").unwrap_or(rest);
    Ok(if rest.is_empty() {
        home
    } else {
        names::join(&home, rest)
    })
}

async fn home(conn: &Connection) -> Result<Vec<u8>, FilesError> {
    let out = conn.exec("printf '%s' \"$HOME\"").await?;
    if !out.success() || !out.stdout.starts_with(b"/") {
        return Err(FilesError::Remote {
            path: "~".into(),
            message: out.stderr_text(),
        });
    }
    Ok(out.stdout)
}

/// A place to start browsing from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ClusterPlace")]
pub struct ClusterPlace {
    /// `home`, `scratch`, `work` or `project`.
    pub kind: String,
    pub path: String,
    pub shown: String,
    #[ts(type = "number | null")]
    pub free_bytes: Option<u64>,
    /// What the tightest quota there leaves, and whose it is (`user alice`), on Lustre.
    #[ts(type = "number | null")]
    pub quota_left_bytes: Option<u64>,
    pub quota_owner: Option<String>,
}

/// The home and the scratch, work and project areas the login environment names, with their
/// free space and quota now: where a person starts browsing.
pub async fn places(on: &OnCluster<'_>) -> Result<Vec<ClusterPlace>, FilesError> {
    let conn = on.connection().await?;
    let out = conn.exec(crate::discovery::STORAGE_SCRIPT).await?;
    let mut places = Vec::new();
    for area in crate::discovery::parse_storage(&out.stdout_text()) {
        let room = crate::transfer::room::look(&conn, &area.path).await.ok();
        let quota = room.as_ref().and_then(|r| r.quota.clone());
        places.push(ClusterPlace {
            shown: names::shown(area.path.as_bytes()),
            path: area.path,
            kind: area.kind,
            free_bytes: room.and_then(|r| r.free_bytes).or(area.free_bytes),
            quota_left_bytes: quota.as_ref().map(|q| q.left_bytes),
            quota_owner: quota.map(|q| q.owner),
        });
    }
    Ok(places)
}

/// Lists the folder at `path` (`~` and relative paths are under the home).
pub async fn list(on: &OnCluster<'_>, path: &str) -> Result<Listing, FilesError> {
    let conn = on.connection().await?;
    let path = absolute(&conn, path).await?;
    list_at(&conn, path).await
}

const LIST: &str = "cd -- \"$1\" 2>/dev/null || { if [ -d \"$1\" ]; then echo 'Permission denied'; \
    elif [ -e \"$1\" ]; then echo 'Not a directory'; else echo 'No such file or directory'; fi >&2; exit 1; }; printf '%s\\0' \"$(id -u)\"; \
    exec find . -mindepth 1 -maxdepth 1 -printf \"$2\"";

async fn list_at(conn: &Connection, path: Vec<u8>) -> Result<Listing, FilesError> {
    let out = run(conn, LIST, &[&path, listing::FIND_FORMAT.as_bytes()]).await?;
    if !out.success() && out.stdout.is_empty() {
        return Err(refusal(&path, &out));
    }
    let (uid, records) = match out.stdout.iter().position(|&b| b == 0) {
        Some(i) => (
            String::from_utf8_lossy(&out.stdout[..i]).into_owned(),
            &out.stdout[i + 1..],
        ),
        None => (String::new(), &out.stdout[..]),
    };
    let (entries, skipped) = listing::parse(records, &uid);
    Ok(Listing {
        path,
        entries,
        skipped,
    })
}

/// The last folders listed, so that scrolling or sorting a large folder does not list it again,
/// each with the order it was last shown in, so that the next page is not sorted again.
#[derive(Default)]
pub struct Listings(Mutex<VecDeque<Kept>>);

struct Kept {
    cluster: String,
    listing: Arc<Listing>,
    /// The order of the last view, and the entries in it.
    order: Option<(OrderOf, Arc<Vec<usize>>)>,
}

/// What a view's order depends on: its sort, its direction, and whether hidden files count.
type OrderOf = (SortBy, bool, bool);

const LISTINGS_KEPT: usize = 4;

impl Listings {
    fn find(&self, cluster: &str, path: &[u8]) -> Option<Arc<Listing>> {
        self.0
            .locked()
            .iter()
            .find(|k| k.cluster == cluster && k.listing.path == path)
            .map(|k| k.listing.clone())
    }

    fn keep(&self, cluster: &str, listing: Arc<Listing>) {
        let mut kept = self.0.locked();
        kept.retain(|k| !(k.cluster == cluster && k.listing.path == listing.path));
        kept.push_front(Kept {
            cluster: cluster.to_owned(),
            listing,
            order: None,
        });
        kept.truncate(LISTINGS_KEPT);
    }

    /// `view`'s page of a kept listing, sorting it only when the view's order changed.
    fn page(&self, cluster: &str, listing: &Listing, view: &View) -> Page {
        let key = (view.sort, view.descending, view.show_hidden);
        let same = |k: &Kept| k.cluster == cluster && k.listing.path == listing.path;
        let known = self.0.locked().iter().find(|k| same(k)).and_then(|k| {
            k.order
                .as_ref()
                .filter(|(of, _)| *of == key)
                .map(|(_, order)| order.clone())
        });
        let order = known.unwrap_or_else(|| {
            // Sorted without the lock: another folder's page need not wait for this one.
            let order = Arc::new(listing.order(view));
            if let Some(k) = self.0.locked().iter_mut().find(|k| same(k)) {
                k.order = Some((key, order.clone()));
            }
            order
        });
        listing.page_in(&order, view)
    }
}

/// The page of the folder `path` that `view` asks for: listed now when `fresh` or not listed
/// yet, else from the last listing (scrolling, sorting, showing hidden files).
pub async fn browse(
    on: &OnCluster<'_>,
    listings: &Listings,
    path: &str,
    view: &View,
    fresh: bool,
) -> Result<Page, FilesError> {
    let known = names::decode(path);
    if !fresh
        && known.starts_with(b"/")
        && let Some(listing) = listings.find(on.cluster, &known)
    {
        return Ok(listings.page(on.cluster, &listing, view));
    }
    let listing = Arc::new(list(on, path).await?);
    listings.keep(on.cluster, listing.clone());
    Ok(listings.page(on.cluster, &listing, view))
}

/// What a file or folder holds, counted without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "PathSize")]
pub struct Size {
    #[ts(type = "number")]
    pub files: u64,
    #[ts(type = "number")]
    pub folders: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Entries inside that belong to someone else.
    #[ts(type = "number")]
    pub not_yours: u64,
}

const MEASURE: &str = "[ -e \"$1\" ] || [ -L \"$1\" ] || { echo 'No such file or directory' >&2; exit 1; }; \
    u=$(id -u); find \"$1\" -printf '%y %U %s\\n' 2>/dev/null | awk -v u=\"$u\" \
    '{ if ($1 == \"d\") d++; else { n++; s += $3 } if ($2 == u) m++ } \
    END { printf \"%.0f %.0f %.0f %.0f\\n\", n, d, s, n + d - m }'";

/// How much `path` holds (a folder's size on demand; what a delete would remove).
pub async fn measure(on: &OnCluster<'_>, path: &str) -> Result<Size, FilesError> {
    let conn = on.connection().await?;
    let path = absolute(&conn, path).await?;
    let out = run(&conn, MEASURE, &[&path]).await?;
    if !out.success() {
        return Err(refusal(&path, &out));
    }
    parse_size(&out.stdout_text()).ok_or_else(|| FilesError::Remote {
        path: names::shown(&path),
        message: out.stdout_text(),
    })
}

fn parse_size(text: &str) -> Option<Size> {
    let mut f = text.split_whitespace().map(|n| n.parse::<u64>().ok());
    Some(Size {
        files: f.next()??,
        folders: f.next()??,
        bytes: f.next()??,
        not_yours: f.next()??,
    })
}

/// Makes the folder `path`; with `parents`, the folders above it too, and an existing folder is
/// not an error (`mkdir -p`).
pub async fn make_folder(
    on: &OnCluster<'_>,
    path: &str,
    parents: bool,
) -> Result<String, FilesError> {
    let conn = on.connection().await?;
    let path = absolute(&conn, path).await?;
    let script = if parents {
        "mkdir -p -- \"$1\""
    } else {
        "mkdir -- \"$1\""
    };
    let out = run(&conn, script, &[&path]).await?;
    if !out.success() {
        return Err(refusal(&path, &out));
    }
    Ok(names::encode(&path))
}

/// What to do when the new name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum IfTaken {
    /// Change nothing and say so ([`Moved::Taken`]): the screen asks the person.
    Ask,
    Replace,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Moved {
    Done {
        path: String,
    },
    /// Something already has that name; nothing was changed.
    Taken {
        path: String,
        shown: String,
    },
}

const MOVE: &str = "[ -e \"$1\" ] || [ -L \"$1\" ] || { echo 'No such file or directory' >&2; exit 1; }; \
    if [ \"$3\" = ask ] && { [ -e \"$2\" ] || [ -L \"$2\" ]; }; then echo taken; exit 0; fi; \
    mv -T -- \"$1\" \"$2\" && echo done";

/// Moves (or renames) `from` to `to`, both full paths.
pub async fn move_to(
    on: &OnCluster<'_>,
    from: &str,
    to: &str,
    if_taken: IfTaken,
) -> Result<Moved, FilesError> {
    let conn = on.connection().await?;
    let from = absolute(&conn, from).await?;
    let to = absolute(&conn, to).await?;
    move_at(&conn, &from, &to, if_taken).await
}

/// Gives the entry `name` of `folder` the name `new_name` (a single name, in the same folder).
pub async fn rename(
    on: &OnCluster<'_>,
    folder: &str,
    name: &str,
    new_name: &str,
    if_taken: IfTaken,
) -> Result<Moved, FilesError> {
    let new = names::decode(new_name);
    if !names::is_single_name(&new) {
        return Err(FilesError::BadName(names::shown(&new)));
    }
    let conn = on.connection().await?;
    let folder = absolute(&conn, folder).await?;
    let from = names::join(&folder, &names::decode(name));
    move_at(&conn, &from, &names::join(&folder, &new), if_taken).await
}

async fn move_at(
    conn: &Connection,
    from: &[u8],
    to: &[u8],
    if_taken: IfTaken,
) -> Result<Moved, FilesError> {
    let mode: &[u8] = match if_taken {
        IfTaken::Ask => b"ask",
        IfTaken::Replace => b"replace",
    };
    let out = run(conn, MOVE, &[from, to, mode]).await?;
    match out.stdout_text().trim() {
        "done" => Ok(Moved::Done {
            path: names::encode(to),
        }),
        "taken" => Ok(Moved::Taken {
            path: names::encode(to),
            shown: names::shown(to),
        }),
        _ => Err(refusal(from, &out)),
    }
}

/// What was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub shown: String,
    pub size: Size,
}

/// Refuses `/`, the home and the storage areas, the top of what a person may delete; checks
/// that everything inside a folder is the person's, before anything goes. `rm -r` itself never
/// follows a link: a link is removed, not what it points to.
const DELETE: &str = "p=$1; [ -e \"$p\" ] || [ -L \"$p\" ] || { echo 'No such file or directory' >&2; exit 1; }; \
    for a in / \"$HOME\" \"${SCRATCH:-}\" \"${WORK:-}\" \"${PROJECT:-}\"; do \
    [ -n \"$a\" ] && [ \"$p\" -ef \"$a\" ] && { [ -L \"$p\" ] || { echo protected; exit 0; }; }; done; \
    if [ -L \"$p\" ]; then :; elif [ -d \"$p\" ]; then \
    [ \"$2\" = folders ] || { echo folder; exit 0; }; \
    o=$(find \"$p\" -not -user \"$(id -u)\" -print 2>/dev/null | head -n 1); \
    [ -z \"$o\" ] || { printf 'not-yours\\0%s' \"$o\"; exit 0; }; fi; \
    rm -rf -- \"$p\" && echo deleted";

/// Deletes `path`: a file or link; a folder with all it holds only when `folders` says so.
/// Measures first, so the answer says what went.
pub async fn delete(on: &OnCluster<'_>, path: &str, folders: bool) -> Result<Deleted, FilesError> {
    let conn = on.connection().await?;
    let path = absolute(&conn, path).await?;
    let shown = names::shown(&path);
    let measured = run(&conn, MEASURE, &[&path]).await?;
    if !measured.success() {
        return Err(refusal(&path, &measured));
    }
    let size = parse_size(&measured.stdout_text()).unwrap_or(Size {
        files: 0,
        folders: 0,
        bytes: 0,
        not_yours: 0,
    });
    let mode: &[u8] = if folders { b"folders" } else { b"files" };
    let out = run(&conn, DELETE, &[&path, mode]).await?;
    let said = out.stdout.split(|&b| b == 0).collect::<Vec<_>>();
    match said.first().map(|s| s.trim_ascii()) {
        Some(b"deleted") if out.success() => Ok(Deleted { shown, size }),
        Some(b"protected") => Err(FilesError::Protected(shown)),
        Some(b"folder") => Err(FilesError::IsAFolder(shown)),
        Some(b"not-yours") => Err(FilesError::NotYours {
            path: shown,
            example: names::shown(said.get(1).copied().unwrap_or_default()),
        }),
        _ => Err(refusal(&path, &out)),
    }
}

const HEAD: &str = "[ -f \"$1\" ] || { [ -e \"$1\" ] && echo 'Not a regular file' >&2 || echo 'No such file or directory' >&2; exit 1; }; \
    s=$(stat -c %s -- \"$1\") || exit 1; printf '%s\\0' \"$s\"; exec head -c \"$2\" -- \"$1\"";

/// The first bytes of the file `path`, as a person would look at them.
pub async fn preview(on: &OnCluster<'_>, path: &str) -> Result<Preview, FilesError> {
    let conn = on.connection().await?;
    let path = absolute(&conn, path).await?;
    let name = names::shown(names::last(&path));
    let wanted = preview::bytes_wanted(&name).to_string();
    let out = run(&conn, HEAD, &[&path, wanted.as_bytes()]).await?;
    let Some((size, head)) = split_size(&out) else {
        return Err(refusal(&path, &out));
    };
    Ok(preview::make(&name, size, head))
}

fn split_size(out: &CommandOutput) -> Option<(u64, &[u8])> {
    let i = out.stdout.iter().position(|&b| b == 0)?;
    let size = std::str::from_utf8(&out.stdout[..i]).ok()?.parse().ok()?;
    Some((size, &out.stdout[i + 1..]))
}

/// The end of a file that is being written (a job's log), read again from where the last look
/// stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "FileTail")]
pub struct Tail {
    pub text: String,
    /// Where this text starts and ends in the file: pass `to` as the next `from`.
    #[ts(type = "number")]
    pub from: u64,
    #[ts(type = "number")]
    pub to: u64,
    /// The file was shorter than `from` (rewritten): this text starts again from its end.
    pub restarted: bool,
}

/// How much a first look, or one step, shows at most.
const TAIL_BYTES: u64 = 64 * 1024;

const TAIL: &str = "[ -f \"$1\" ] || { echo 'No such file or directory' >&2; exit 1; }; \
    s=$(stat -c %s -- \"$1\") || exit 1; f=$2; \
    if [ \"$f\" = end ] || [ \"$f\" -gt \"$s\" ]; then f=$(( s > $3 ? s - $3 : 0 )); fi; \
    printf '%s %s\\0' \"$s\" \"$f\"; tail -c +$((f + 1)) -- \"$1\" | head -c \"$3\"";

/// What `path` gained since `from` (the last `to`), or its last 64 KiB when `from` is `None`
/// or the file shrank.
pub async fn tail(on: &OnCluster<'_>, path: &str, from: Option<u64>) -> Result<Tail, FilesError> {
    let conn = on.connection().await?;
    let path = absolute(&conn, path).await?;
    let from_arg = from.map_or_else(|| "end".to_owned(), |f| f.to_string());
    let limit = TAIL_BYTES.to_string();
    let out = run(&conn, TAIL, &[&path, from_arg.as_bytes(), limit.as_bytes()]).await?;
    let parsed = out.stdout.iter().position(|&b| b == 0).and_then(|i| {
        let head = std::str::from_utf8(&out.stdout[..i]).ok()?;
        let (size, start) = head.split_once(' ')?;
        Some((
            size.parse::<u64>().ok()?,
            start.parse::<u64>().ok()?,
            &out.stdout[i + 1..],
        ))
    });
    let Some((size, start, bytes)) = parsed else {
        return Err(refusal(&path, &out));
    };
    Ok(Tail {
        text: String::from_utf8_lossy(bytes).into_owned(),
        from: start,
        to: start + bytes.len() as u64,
        restarted: from.is_some_and(|f| f > size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_pages_follow_the_views_order_and_never_an_older_one() {
        let records: String = (0..1000)
            .map(|i| {
                format!(
                    "f/f/{}/17647560{:02}.0/1000/run{i}\0",
                    (i * 7919) % 1000,
                    i % 100
                )
            })
            .collect();
        let (entries, skipped) = listing::parse(records.as_bytes(), "1000");
        let listing = Arc::new(Listing {
            path: b"/scratch/runs".to_vec(),
            entries,
            skipped,
        });
        let listings = Listings::default();
        listings.keep("lab", listing.clone());
        for sort in [SortBy::Name, SortBy::Size, SortBy::Name, SortBy::Modified] {
            for offset in [0, 200, 400, 999] {
                let view = View {
                    sort,
                    offset,
                    ..View::default()
                };
                // The kept order and a fresh sort give the same page, whichever came before.
                assert_eq!(listings.page("lab", &listing, &view), listing.page(&view));
            }
        }
        let first = listings.page("lab", &listing, &View::default());
        assert_eq!(first.entries[2].shown_name(), "run2", "natural order");
    }

    #[test]
    fn targets_split_at_the_first_colon_as_scp_does() {
        assert_eq!(split_target("lab:~/a:b").unwrap(), ("lab", "~/a:b"));
        assert_eq!(split_target("lab:").unwrap(), ("lab", "~"));
        assert!(split_target("/home/alice").is_err());
        assert!(split_target("./x:y").is_err());
        assert!(split_target(":x").is_err());
    }

    #[test]
    fn sizes_parse_from_the_measure_scripts_line() {
        assert_eq!(
            parse_size("3 2 1048576 1\n"),
            Some(Size {
                files: 3,
                folders: 2,
                bytes: 1 << 20,
                not_yours: 1
            })
        );
        assert_eq!(parse_size("garbage"), None);
        assert_eq!(parse_size(""), None);
    }
}
