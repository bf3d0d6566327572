//! How much an upload's destination can take, before anything is sent: the file system's free
//! space (`df`) and, on Lustre, what the user's, group's and project's quotas leave
//! (`lfs quota`); and where else the data could go when it does not fit (the areas discovered
//! at login, and the site's storage list in the catalogue).

use std::sync::Mutex;

use super::TransferError;
use crate::ssh::{Connection, quote};
use crate::store::{Store, lock};

/// What the destination can take. `None`: the cluster did not say (no limit is assumed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub free_bytes: Option<u64>,
    /// The tightest Lustre quota at the destination, if any applies.
    pub quota: Option<Quota>,
}

/// What a quota leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// Whose quota: `user alice`, `group p200`, `project 465000`.
    pub owner: String,
    pub left_bytes: u64,
}

/// One round trip: `df` of the folder `$1`; on Lustre (`lfs getstripe` succeeds there only) the
/// user's, the group's and the folder's project quota.
const LOOK: &str = "R=$1; df -P -k -- \"$R\"; \
    if command -v lfs >/dev/null 2>&1 && lfs getstripe -d -- \"$R\" >/dev/null 2>&1; then \
    lfs quota -u \"$(id -un)\" \"$R\"; lfs quota -g \"$(id -gn)\" \"$R\"; \
    p=$(lfs project -d \"$R\" 2>/dev/null | awk '{print $1}'); \
    if [ -n \"$p\" ] && [ \"$p\" != 0 ]; then lfs quota -p \"$p\" \"$R\"; fi; fi; exit 0";

/// Makes the upload's folder, then measures it.
pub(super) async fn measure(conn: &Connection, remote_root: &str) -> Result<Room, TransferError> {
    let script = format!("mkdir -p -- \"$1\" || exit 1; {LOOK}");
    ask(conn, &script, remote_root).await
}

/// Measures the existing folder `path` (a place shown in the file browser).
pub(crate) async fn look(conn: &Connection, path: &str) -> Result<Room, TransferError> {
    ask(conn, LOOK, path).await
}

async fn ask(conn: &Connection, script: &str, remote_root: &str) -> Result<Room, TransferError> {
    let out = conn
        .exec(&format!(
            "sh -c {} sh {}",
            quote(script),
            quote(remote_root)
        ))
        .await?;
    if !out.success() {
        return Err(TransferError::Remote {
            path: remote_root.to_owned(),
            message: out.stderr_text(),
        });
    }
    let text = out.stdout_text();
    Ok(Room {
        free_bytes: parse_df(&text),
        quota: parse_lfs_quota(&text)
            .into_iter()
            .min_by_key(|q| q.left_bytes),
    })
}

/// Refuses an upload of `needed` bytes that will not fit, naming what limits it and where else
/// it would fit.
pub(super) fn check(
    room: &Room,
    needed: u64,
    path: &str,
    elsewhere: impl FnOnce() -> Vec<String>,
) -> Result<(), TransferError> {
    // Keep a little slack: file systems round up to blocks.
    let wanted = needed + needed / 100 + (1 << 20);
    let (left, limit) = match (&room.quota, room.free_bytes) {
        (Some(q), free) if free.is_none_or(|f| q.left_bytes <= f) => (
            q.left_bytes,
            crate::tr!(en: "the {} quota", fr: "le quota {}", q.owner),
        ),
        (_, Some(free)) => (free, crate::tr!(en: "the disk", fr: "le disque")),
        (_, None) => return Ok(()),
    };
    if wanted <= left {
        return Ok(());
    }
    let places = elsewhere();
    Err(TransferError::NoSpace {
        path: path.to_owned(),
        needed_mib: needed.div_ceil(1 << 20),
        free_mib: left / (1 << 20),
        limit,
        next: if places.is_empty() {
            crate::tr!(
                en: "Choose your scratch or work folder (see the cluster's storage list), or free space.",
                fr: "Choisissez votre dossier scratch ou work (voir la liste de stockage du cluster), ou libérez de la place."
            )
        } else {
            crate::tr!(
                en: "Send it to {} instead, or free space.",
                fr: "Envoyez-le plutôt vers {}, ou libérez de la place.",
                places.join(&crate::tr!(en: " or ", fr: " ou "))
            )
        },
    })
}

/// Places on `cluster` with room for `needed` bytes, best first: the scratch, work and project
/// areas discovered at the last login that have the room, then the site's storage list.
pub(super) fn elsewhere(store: &Mutex<Store>, cluster: &str, needed: u64) -> Vec<String> {
    let guard = lock(store);
    let mut places = Vec::new();
    if let Ok(Some(profile)) = crate::cluster::cached_profile(&guard, cluster) {
        for area in profile.storage.iter().filter(|a| a.kind != "home") {
            match area.free_bytes {
                Some(free) if free > needed => places.push(crate::tr!(
                    en: "your {} area {} ({} GiB free)",
                    fr: "votre espace {} {} ({} Gio libres)",
                    area.kind,
                    area.path,
                    free >> 30
                )),
                Some(_) => {}
                None => places.push(crate::tr!(
                    en: "your {} area {}",
                    fr: "votre espace {} {}",
                    area.kind,
                    area.path
                )),
            }
        }
    }
    let site = crate::cluster::get(&guard, cluster)
        .ok()
        .and_then(|s| s.site)
        .and_then(|id| crate::sites::find(&id));
    if let Some(site) = site {
        for area in &site.storage {
            if !places.iter().any(|p| p.contains(&area.path)) {
                places.push(format!("{} ({})", area.path, area.purpose));
            }
        }
    }
    places
}

/// Free bytes in the second line of `df -P -k`.
pub(crate) fn parse_df(text: &str) -> Option<u64> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("Filesystem"));
    lines.next()?;
    let kib: u64 = lines.next()?.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Every limited quota in `lfs quota` output: `Disk quotas for usr alice (uid 1000):`, a column
/// header, then the file system (alone on its line when its name is long) and `kbytes quota
/// limit grace files …`. Used space may carry a `*` (over the soft limit) or brackets; a limit
/// of 0 means none.
pub(crate) fn parse_lfs_quota(text: &str) -> Vec<Quota> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix("Disk quotas for ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let kind = match words.next() {
            Some("usr" | "user") => "user",
            Some("grp" | "group") => "group",
            Some("prj" | "project") => "project",
            _ => continue,
        };
        let owner = format!("{kind} {}", words.next().unwrap_or("?"));
        // After the column header: the numbers, possibly after a line holding only the name.
        let mut fields: Vec<&str> = Vec::new();
        for line in lines.by_ref() {
            let line = line.trim();
            if line.starts_with("Filesystem") || line.is_empty() {
                continue;
            }
            fields.extend(line.split_whitespace());
            if fields.len() >= 4 {
                break;
            }
        }
        let number = |s: &str| {
            s.trim_matches(|c| c == '[' || c == ']' || c == '*')
                .parse::<u64>()
                .ok()
        };
        let (Some(used), Some(soft), Some(hard)) = (
            fields.get(1).and_then(|s| number(s)),
            fields.get(2).and_then(|s| number(s)),
            fields.get(3).and_then(|s| number(s)),
        ) else {
            continue;
        };
        let limit = match (soft, hard) {
            (0, 0) => continue,
            (0, h) => h,
            (s, 0) => s,
            (s, h) => s.min(h),
        };
        out.push(Quota {
            owner,
            left_bytes: limit.saturating_sub(used).saturating_mul(1024),
        });
    }
    out
}

/// `df -P -k`, then `lfs quota` for user and group, as Lustre 2.12–2.15 print them: a long
/// file-system name wraps, used space over the soft limit carries a star. (Also the fuzzer's seed.)
#[cfg(test)]
pub(crate) const DF_AND_QUOTAS: &str = "\
Filesystem     1024-blocks      Used  Available Capacity Mounted on
10.0.0.1@o2ib:/scratch 9000000000 100 8000000000 1% /scratch
Disk quotas for usr alice (uid 1000):
     Filesystem  kbytes   quota   limit   grace   files   quota   limit   grace
/scratch/project_465000123
                 900000  1000000 1100000       -     120       0       0       -
Disk quotas for grp p465 (gid 2001):
     Filesystem  kbytes   quota   limit   grace   files   quota   limit   grace
       /scratch 5242880* 5000000 6000000  6d23h    400    800    1600       -
uid 1000 is using default file quota setting
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_and_quotas_are_read_from_one_answer() {
        let text = DF_AND_QUOTAS;
        assert_eq!(parse_df(text), Some(8_000_000_000 * 1024));
        assert_eq!(
            parse_lfs_quota(text),
            [
                Quota {
                    owner: "user alice".into(),
                    left_bytes: 100_000 * 1024
                },
                Quota {
                    owner: "group p465".into(),
                    left_bytes: 0
                },
            ]
        );
    }

    #[test]
    fn unlimited_and_garbled_quotas_are_skipped() {
        let text = "\
Disk quotas for usr bob (uid 1):
     Filesystem  kbytes   quota   limit   grace   files   quota   limit   grace
        /lustre7 982177580       0       0       -  443208       0       0       -
Disk quotas for prj 77 (pid 77):
     Filesystem  kbytes   quota   limit   grace   files   quota   limit   grace
        /lustre7  [1041408]  0 2097152       -     [0]       0       0       -
Disk quotas for grp x (gid 3):
lfs quota: cannot get quota: Operation not permitted
";
        assert_eq!(
            parse_lfs_quota(text),
            [Quota {
                owner: "project 77".into(),
                left_bytes: (2_097_152 - 1_041_408) * 1024
            }]
        );
    }

    #[test]
    fn the_tighter_limit_refuses_and_says_where_else() {
        let room = Room {
            free_bytes: Some(100 << 30),
            quota: Some(Quota {
                owner: "user alice".into(),
                left_bytes: 10 << 20,
            }),
        };
        let err = check(&room, 50 << 20, "/scratch/a", || {
            vec!["your work area /work/p1 (900 GiB free)".into()]
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("the user alice quota"), "{text}");
        assert!(text.contains("needs 50 MiB"), "{text}");
        assert!(text.contains("/work/p1"), "{text}");
        assert!(check(&room, 5 << 20, "/scratch/a", Vec::new).is_ok());
        let no_limits = Room {
            free_bytes: None,
            quota: None,
        };
        assert!(check(&no_limits, u64::MAX / 4, "/x", Vec::new).is_ok());
    }

    proptest::proptest! {
        /// `df` and `lfs quota` answers as any text: read or not, never a panic (a size near
        /// u64::MAX in KiB overflowed when turned into bytes).
        #[test]
        fn any_answer_never_panics(text in "\\PC{0,300}", kib in proptest::prelude::any::<u64>()) {
            let _ = parse_df(&text);
            let _ = parse_lfs_quota(&text);
            let df = format!("Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/x 1 1 {kib} 1% /\n");
            proptest::prop_assert_eq!(parse_df(&df), Some(kib.saturating_mul(1024)));
            let quota = format!("Disk quotas for usr a (uid 1):\n Filesystem kbytes quota limit grace\n /l 0 {kib} 0 -\n");
            let _ = parse_lfs_quota(&quota);
        }
    }
}
