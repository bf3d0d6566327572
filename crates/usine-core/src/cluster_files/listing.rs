//! One folder of the cluster as `find -printf` describes it, and the page of it a screen
//! shows: sorted, hidden entries in or out, a slice at a time (a folder of 100,000 entries is
//! read once and shown a page at a time, never sent whole to the window).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::names;

/// What `find` prints per entry: type, the link's target type, size, modification time, owner
/// id, name; NUL-terminated, so any name (newlines included) is one record.
pub(super) const FIND_FORMAT: &str = "%y/%Y/%s/%T@/%U/%f\\0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum EntryKind {
    Folder,
    File,
    /// A symbolic link to a folder: browsing follows it; deleting removes the link only.
    LinkToFolder,
    LinkToFile,
    /// A link whose target is missing or unreadable.
    BrokenLink,
    /// A socket, device or pipe.
    Other,
}

impl EntryKind {
    pub fn opens_as_folder(self) -> bool {
        matches!(self, EntryKind::Folder | EntryKind::LinkToFolder)
    }
}

/// One entry of a cluster folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ClusterEntry")]
pub struct Entry {
    /// Its name, carrying its exact bytes ([`names::encode`]): send it back as it is.
    pub name: String,
    /// How to show the name when that differs from `name` (bytes that are not text, control
    /// characters).
    pub shown: Option<String>,
    pub kind: EntryKind,
    #[ts(type = "number")]
    pub size: u64,
    /// Last modification, seconds since 1970.
    #[ts(type = "number")]
    pub modified: i64,
    /// Whether the person logged in owns it.
    pub yours: bool,
}

impl Entry {
    pub fn hidden(&self) -> bool {
        self.name.starts_with('.')
    }

    pub fn shown_name(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.name)
    }
}

/// A whole folder, as read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub path: Vec<u8>,
    pub entries: Vec<Entry>,
    /// Records that could not be read (logged, and left out).
    pub skipped: usize,
}

/// Reads `find`'s records ([`FIND_FORMAT`]) for the user whose numeric id is `uid`. A record
/// that does not parse is skipped and counted, never the whole folder.
pub fn parse(out: &[u8], uid: &str) -> (Vec<Entry>, usize) {
    let mut entries = Vec::new();
    let mut skipped = 0;
    for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        match parse_record(record, uid) {
            Some(entry) => entries.push(entry),
            None => {
                skipped += 1;
                tracing::warn!(record = %String::from_utf8_lossy(record), "folder entry skipped");
            }
        }
    }
    (entries, skipped)
}

fn parse_record(record: &[u8], uid: &str) -> Option<Entry> {
    let mut fields = record.splitn(6, |&b| b == b'/');
    let kind = fields.next()?;
    let target = fields.next()?;
    let size = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let modified = std::str::from_utf8(fields.next()?).ok()?;
    let modified = modified.split('.').next()?.parse().ok()?;
    let owner = fields.next()?;
    let name = fields.next()?;
    if !names::is_single_name(name) {
        return None;
    }
    let kind = match (kind, target) {
        (b"d", _) => EntryKind::Folder,
        (b"f", _) => EntryKind::File,
        (b"l", b"d") => EntryKind::LinkToFolder,
        (b"l", b"f") => EntryKind::LinkToFile,
        (b"l", b"N" | b"L" | b"?") => EntryKind::BrokenLink,
        (b"l", _) | (b"s" | b"p" | b"c" | b"b" | b"D", _) => EntryKind::Other,
        _ => return None,
    };
    let encoded = names::encode(name);
    let shown = names::shown(name);
    Some(Entry {
        shown: (shown != encoded).then_some(shown),
        name: encoded,
        kind,
        size,
        modified,
        yours: owner == uid.as_bytes(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SortBy {
    #[default]
    Name,
    Size,
    Modified,
}

/// How a screen wants to see a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "FolderView")]
pub struct View {
    pub sort: SortBy,
    pub descending: bool,
    pub show_hidden: bool,
    #[ts(type = "number")]
    pub offset: usize,
    #[ts(type = "number")]
    pub limit: usize,
}

impl Default for View {
    fn default() -> Self {
        View {
            sort: SortBy::Name,
            descending: false,
            show_hidden: false,
            offset: 0,
            limit: 200,
        }
    }
}

/// One step of the path above the folder shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Crumb {
    pub shown: String,
    /// The path to open when it is clicked ([`names::encode`]d).
    pub path: String,
}

/// What a screen shows of a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "FolderPage")]
pub struct Page {
    pub path: String,
    pub shown: String,
    pub crumbs: Vec<Crumb>,
    pub entries: Vec<Entry>,
    /// Entries in the view (hidden ones counted only when shown).
    #[ts(type = "number")]
    pub total: usize,
    #[ts(type = "number")]
    pub offset: usize,
    #[ts(type = "number")]
    pub hidden: usize,
    #[ts(type = "number")]
    pub skipped: usize,
}

impl Listing {
    /// The slice of this folder `view` asks for: folders first, then by the chosen order.
    pub fn page(&self, view: &View) -> Page {
        self.page_in(&self.order(view), view)
    }

    /// The entries `view` shows, in its order (indices into `entries`): worth keeping, since
    /// sorting 100,000 names naturally takes longer than a page should.
    pub fn order(&self, view: &View) -> Vec<usize> {
        let mut shown: Vec<usize> = (0..self.entries.len())
            .filter(|&i| view.show_hidden || !self.entries[i].hidden())
            .collect();
        shown.sort_by(|&a, &b| {
            let (a, b) = (&self.entries[a], &self.entries[b]);
            let folders_first = b.kind.opens_as_folder().cmp(&a.kind.opens_as_folder());
            let by = match view.sort {
                SortBy::Name => natural(a.shown_name(), b.shown_name()),
                SortBy::Size => a.size.cmp(&b.size),
                SortBy::Modified => a.modified.cmp(&b.modified),
            };
            let by = if view.descending { by.reverse() } else { by };
            folders_first.then(by).then_with(|| a.name.cmp(&b.name))
        });
        shown
    }

    /// The slice of `order` (this listing's [`Listing::order`] for `view`) that `view` asks for.
    pub fn page_in(&self, order: &[usize], view: &View) -> Page {
        let total = order.len();
        let offset = view.offset.min(total);
        let end = offset.saturating_add(view.limit.clamp(1, 5_000)).min(total);
        Page {
            path: names::encode(&self.path),
            shown: names::shown(&self.path),
            crumbs: crumbs(&self.path),
            entries: order[offset..end]
                .iter()
                .map(|&i| self.entries[i].clone())
                .collect(),
            total,
            offset,
            hidden: self.entries.iter().filter(|e| e.hidden()).count(),
            skipped: self.skipped,
        }
    }
}

/// Case-insensitive, with runs of digits compared as numbers (`run2` before `run10`), as file
/// managers sort.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let take = |it: &mut std::iter::Peekable<std::str::Chars>| {
                    let mut digits = String::new();
                    while let Some(d) = it.peek().copied().filter(char::is_ascii_digit) {
                        digits.push(d);
                        it.next();
                    }
                    digits
                };
                let (x, y) = (take(&mut a), take(&mut b));
                let (xt, yt) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                let order = xt.len().cmp(&yt.len()).then_with(|| xt.cmp(yt));
                if order.is_ne() {
                    return order;
                }
            }
            (Some(x), Some(y)) => {
                let order = x.to_lowercase().cmp(y.to_lowercase());
                if order.is_ne() {
                    return order;
                }
                a.next();
                b.next();
            }
        }
    }
}

fn crumbs(path: &[u8]) -> Vec<Crumb> {
    let mut crumbs = vec![Crumb {
        shown: "/".into(),
        path: "/".into(),
    }];
    let mut at = Vec::new();
    for part in path.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
        at.push(b'/');
        at.extend_from_slice(part);
        crumbs.push(Crumb {
            shown: names::shown(part),
            path: names::encode(&at),
        });
    }
    crumbs
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"d/d/4096/1764756000.1234567890/1000/run10\0\
f/f/12/1764756001.0/1000/run2.csv\0\
f/f/7/1764756002.5/0/.hidden\0\
l/d/9/1764756003.0/1000/scratch\0\
l/N/4/1764756004.0/1000/gone\0\
f/f/3/1764756005.0/1000/two\nlines\0\
f/f/1/1764756006.0/1000/caf\xe9\0\
garbage without fields\0";

    #[test]
    fn find_records_become_entries_and_a_bad_one_is_skipped() {
        let (entries, skipped) = parse(SAMPLE, "1000");
        assert_eq!(skipped, 1);
        assert_eq!(entries.len(), 7);
        assert_eq!(entries[0].kind, EntryKind::Folder);
        assert_eq!(entries[0].modified, 1764756000);
        assert!(entries[0].yours);
        assert!(!entries[2].yours);
        assert_eq!(entries[3].kind, EntryKind::LinkToFolder);
        assert_eq!(entries[4].kind, EntryKind::BrokenLink);
        assert_eq!(entries[5].shown.as_deref(), Some("two\\nlines"));
        assert_eq!(names::decode(&entries[6].name), b"caf\xe9");
        assert_eq!(entries[6].shown.as_deref(), Some("caf\\xe9"));
    }

    #[test]
    fn pages_put_folders_first_sort_naturally_and_hide_dot_files() {
        let (entries, skipped) = parse(SAMPLE, "1000");
        let listing = Listing {
            path: b"/home/alice".to_vec(),
            entries,
            skipped,
        };
        let page = listing.page(&View::default());
        let names: Vec<&str> = page.entries.iter().map(|e| e.shown_name()).collect();
        assert_eq!(
            names,
            [
                "run10",
                "scratch",
                "caf\\xe9",
                "gone",
                "run2.csv",
                "two\\nlines"
            ]
        );
        assert_eq!((page.total, page.hidden), (6, 1));
        assert_eq!(
            page.crumbs.last().map(|c| c.path.as_str()),
            Some("/home/alice")
        );

        let by_size = listing.page(&View {
            sort: SortBy::Size,
            descending: true,
            show_hidden: true,
            offset: 2,
            limit: 2,
        });
        assert_eq!(by_size.total, 7);
        let sizes: Vec<u64> = by_size.entries.iter().map(|e| e.size).collect();
        assert_eq!(sizes, [12, 7]);
    }

    #[test]
    fn a_real_gnu_find_capture_parses_whole() {
        let real = include_bytes!("../../tests/samples/find-listing.bin");
        let (entries, skipped) = parse(real, "0");
        assert_eq!(skipped, 0);
        assert!(entries.len() > 20);
        let find = |shown: &str| entries.iter().find(|e| e.shown_name() == shown);
        assert_eq!(
            find("scratch").map(|e| e.kind),
            Some(EntryKind::LinkToFolder)
        );
        assert_eq!(find("gone").map(|e| e.kind), Some(EntryKind::BrokenLink));
        assert_eq!(find("run2.csv").map(|e| e.size), Some(8));
        assert!(
            find("two\\nlines").is_some() && find("caf\\xe9").is_some() && find("-rf").is_some()
        );
    }

    #[test]
    fn natural_order_compares_numbers_as_numbers() {
        let mut v = vec!["run10", "Run2", "run1", "run02b", "alpha"];
        v.sort_by(|a, b| natural(a, b));
        assert_eq!(v, ["alpha", "run1", "Run2", "run02b", "run10"]);
    }
}
