//! What a cluster offers this user, learned once after login and cached for offline use:
//! Slurm version, partitions and their GPUs and limits, accounts and GPU-hour budgets, and
//! where the user's files go. Parsers are pure and tested on real Slurm output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ssh::{Connection, SshError, quote};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PartitionInfo {
    pub name: String,
    pub is_default: bool,
    /// GPUs per node (0 for CPU-only partitions).
    pub gpus_per_node: u32,
    /// Slurm's GPU type (`h100`, `a100`, …) when the site declares one.
    pub gpu_type: Option<String>,
    pub nodes: u32,
    /// Longest time a job may run, in minutes; `None` when unlimited.
    #[ts(type = "number | null")]
    pub max_time_minutes: Option<u64>,
    pub available: bool,
    /// Cores of one node (the smallest node type of the partition); 0 when unknown.
    #[serde(default)]
    pub cpus_per_node: u32,
    /// Memory of one node in MiB (the smallest node type); 0 when unknown.
    #[serde(default)]
    #[ts(type = "number")]
    pub memory_mib_per_node: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Slurm account (what sites call the project).
    pub name: String,
    /// GPU-minutes the account may use in total (`GrpTRESMins=gres/gpu=…`), if limited.
    #[ts(type = "number | null")]
    pub gpu_minutes_limit: Option<u64>,
    /// GPU-minutes already used, as Slurm counts them for that limit.
    #[ts(type = "number | null")]
    pub gpu_minutes_used: Option<u64>,
    /// GPUs the account may hold at once (`GrpTRES=gres/gpu=…`), if limited.
    #[ts(type = "number | null")]
    pub max_gpus_at_once: Option<u64>,
}

impl AccountInfo {
    /// GPU-hours left under the account's limit, when it has one.
    pub fn gpu_hours_left(&self) -> Option<f64> {
        let limit = self.gpu_minutes_limit?;
        let used = self.gpu_minutes_used.unwrap_or(0);
        Some(limit.saturating_sub(used) as f64 / 60.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClusterProfile {
    pub slurm_version: String,
    pub partitions: Vec<PartitionInfo>,
    pub accounts: Vec<AccountInfo>,
    /// What the site's own budget command printed (`saldo -b`, `lumi-allocations`, …).
    pub budget_report: Option<String>,
    /// Home, and the scratch/work/project areas the site announces through the usual variables.
    pub storage: Vec<StorageArea>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StorageArea {
    /// `home`, `scratch`, `work` or `project`.
    pub kind: String,
    pub path: String,
    #[ts(type = "number | null")]
    pub free_bytes: Option<u64>,
}

/// Asks the cluster. `budget_command` comes from the site catalogue (empty: none known).
pub async fn discover(conn: &Connection, budget_command: &str) -> Result<ClusterProfile, SshError> {
    let text = |out: crate::ssh::CommandOutput| out.stdout_text();
    let version = text(conn.exec("sinfo --version").await?);
    let partitions = text(conn.exec("sinfo -h -o '%P|%G|%D|%l|%a|%c|%m'").await?);
    let assocs = text(
        conn.exec("sacctmgr -n -P show assoc user=\"$USER\" format=account")
            .await?,
    );
    let mut account_names: Vec<String> = assocs
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    account_names.sort();
    account_names.dedup();

    let mut accounts = Vec::new();
    if !account_names.is_empty() {
        let list = quote(&account_names.join(","));
        let limits = text(
            conn.exec(&format!(
                "sacctmgr -n -P show assoc where accounts={list} users= format=account,grptresmins,grptres"
            ))
            .await?,
        );
        let usage = text(
            conn.exec(&format!(
                "sshare -n -P -A {list} -o Account,User,GrpTRESRaw"
            ))
            .await?,
        );
        accounts = parse_accounts(&account_names, &limits, &usage);
    }

    let budget_report = if budget_command.is_empty() {
        None
    } else {
        // A site command from our own catalogue, never user text.
        let out = conn.exec(budget_command).await?;
        out.success().then(|| out.stdout_text().trim().to_owned())
    };
    let storage = text(conn.exec(STORAGE_SCRIPT).await?);
    Ok(ClusterProfile {
        slurm_version: parse_slurm_version(&version),
        partitions: parse_sinfo_partitions(&partitions),
        accounts,
        budget_report,
        storage: parse_storage(&storage),
    })
}

/// Prints `kind|path|free KiB` for each storage area the login environment names.
pub(crate) const STORAGE_SCRIPT: &str = r#"for kv in "home=$HOME" "scratch=${SCRATCH:-}" "work=${WORK:-}" "project=${PROJECT:-}"; do
  p=${kv#*=}; [ -n "$p" ] || continue
  printf '%s|%s|%s\n' "${kv%%=*}" "$p" "$(df -P -k "$p" 2>/dev/null | awk 'NR == 2 { print $4 }')"
done"#;

/// Lines of [`STORAGE_SCRIPT`].
pub fn parse_storage(text: &str) -> Vec<StorageArea> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.splitn(3, '|');
            let (kind, path, kib) = (f.next()?, f.next()?, f.next().unwrap_or(""));
            (!path.is_empty()).then(|| StorageArea {
                kind: kind.to_owned(),
                path: path.to_owned(),
                free_bytes: kib
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .map(|k| k.saturating_mul(1024)),
            })
        })
        .collect()
}

/// `slurm 23.11.4` or `slurm-wlm 22.05.8` → `23.11.4` / `22.05.8`.
pub fn parse_slurm_version(text: &str) -> String {
    text.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// Lines of `sinfo -h -o '%P|%G|%D|%l|%a|%c|%m'` (the last two may be missing: older captures).
pub fn parse_sinfo_partitions(text: &str) -> Vec<PartitionInfo> {
    let mut out: Vec<PartitionInfo> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        let (name, gres, nodes, time, avail, cpus, memory) = match f[..] {
            [n, g, d, l, a] => (n, g, d, l, a, "", ""),
            [n, g, d, l, a, c, m] => (n, g, d, l, a, c, m),
            _ => continue,
        };
        let is_default = name.ends_with('*');
        let name = name.trim_end_matches('*').to_owned();
        let (gpu_type, gpus_per_node) = parse_gpu_gres(gres);
        let info = PartitionInfo {
            is_default,
            gpus_per_node,
            gpu_type,
            nodes: nodes.parse().unwrap_or(0),
            max_time_minutes: parse_slurm_minutes(time),
            available: avail == "up",
            cpus_per_node: cpus.trim_end_matches('+').parse().unwrap_or(0),
            memory_mib_per_node: memory.trim_end_matches('+').parse().unwrap_or(0),
            name,
        };
        // sinfo prints one line per distinct node configuration: merge them per partition.
        match out.iter_mut().find(|p| p.name == info.name) {
            Some(p) => {
                p.nodes += info.nodes;
                // A job must fit on the partition's smallest node to be sure to start.
                p.cpus_per_node = smallest(p.cpus_per_node, info.cpus_per_node);
                p.memory_mib_per_node = smallest(p.memory_mib_per_node, info.memory_mib_per_node);
                if info.gpus_per_node > p.gpus_per_node {
                    p.gpus_per_node = info.gpus_per_node;
                    p.gpu_type = info.gpu_type;
                }
            }
            None => out.push(info),
        }
    }
    out
}

fn smallest<T: Ord + Default + Copy>(a: T, b: T) -> T {
    match (a == T::default(), b == T::default()) {
        (true, _) => b,
        (_, true) => a,
        _ => a.min(b),
    }
}

/// The GPU part of a GRES string: `gpu:h100:4`, `gpu:a100:4(S:0-1)`, `gpu:4`, `(null)`,
/// `gpu:h100:4,shard:8`. A node with GPUs of two types (`gpu:h100:2,gpu:a100:2`) has them all
/// (4), and no single type.
pub fn parse_gpu_gres(gres: &str) -> (Option<String>, u32) {
    let mut total = 0u32;
    let mut types: Vec<&str> = Vec::new();
    let mut untyped = false;
    for item in gres.split(',') {
        let item = item.split('(').next().unwrap_or_default();
        let parts: Vec<&str> = item.split(':').collect();
        let count = match parts[..] {
            ["gpu", count] => {
                untyped = true;
                count
            }
            ["gpu", kind, count] => {
                if !types.contains(&kind) {
                    types.push(kind);
                }
                count
            }
            _ => continue,
        };
        total = total.saturating_add(count.parse().unwrap_or(0));
    }
    let kind = match types[..] {
        [one] if !untyped => Some(one.to_owned()),
        _ => None,
    };
    (kind, total)
}

/// Slurm time limits (`1-00:00:00`, `2:00:00`, `30:00`, `45`, `UNLIMITED`) in minutes.
pub fn parse_slurm_minutes(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("unlimited") || text.eq_ignore_ascii_case("infinite") {
        return None;
    }
    let (days, rest) = match text.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, text),
    };
    let nums: Vec<u64> = rest
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let with_days = text.contains('-');
    let (h, m, s) = match *nums.as_slice() {
        [h] if with_days => (h, 0, 0),
        [h, m] if with_days => (h, m, 0),
        [h, m, s] => (h, m, s),
        [m, s] => (0, m, s),
        [m] => (0, m, 0),
        _ => return None,
    };
    // Checked: an absurd number is no time limit, not an overflow.
    days.checked_mul(1440)?
        .checked_add(h.checked_mul(60)?)?
        .checked_add(m)?
        .checked_add(s.div_ceil(60))
}

/// `cpu=10,gres/gpu=6000,mem=8` → map.
pub fn parse_tres(text: &str) -> BTreeMap<String, u64> {
    text.split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k.trim().to_owned(), v.trim().parse().ok()?)))
        .collect()
}

/// Limits from `sacctmgr … format=account,grptresmins,grptres` and usage from
/// `sshare … -o Account,User,GrpTRESRaw` (the account's own line has no user).
pub fn parse_accounts(names: &[String], limits: &str, usage: &str) -> Vec<AccountInfo> {
    names
        .iter()
        .map(|name| {
            let limit_line = limits
                .lines()
                .map(|l| l.trim().split('|').collect::<Vec<_>>())
                .find(|f| f.first() == Some(&name.as_str()));
            let (mins, grp) = match limit_line.as_deref() {
                Some([_, mins, grp, ..]) => (parse_tres(mins), parse_tres(grp)),
                _ => Default::default(),
            };
            let used = usage
                .lines()
                .map(|l| l.trim().split('|').collect::<Vec<_>>())
                .find(|f| f.first() == Some(&name.as_str()) && f.get(1) == Some(&""))
                .and_then(|f| f.get(2).map(|raw| parse_tres(raw)));
            AccountInfo {
                name: name.clone(),
                gpu_minutes_limit: mins.get("gres/gpu").copied(),
                gpu_minutes_used: used.and_then(|u| u.get("gres/gpu").copied()),
                max_gpus_at_once: grp.get("gres/gpu").copied(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from the lab (Slurm 22.05.8).
    const SINFO: &str = "cpu*|gpu:h100:4|1|1-00:00:00|up\ngpu|gpu:h100:4|1|1-00:00:00|up\n";
    const LIMITS: &str = "ai-startup|gres/gpu=6000|gres/gpu=4\n";
    // `sshare -n -P -A ai-startup -o Account,User,GrpTRESRaw`, with 754 GPU-minutes used.
    const SSHARE: &str = concat!(
        "ai-startup||cpu=0,mem=8,energy=0,node=0,billing=0,fs/disk=0,vmem=0,pages=0,gres/gpu=754,gres/gpu:h100=754\n",
        " ai-startup|alice|cpu=0,mem=8,energy=0,node=0,billing=0,fs/disk=0,vmem=0,pages=0,gres/gpu=0,gres/gpu:h100=0\n",
    );

    #[test]
    fn partitions_from_sinfo() {
        let p = parse_sinfo_partitions(SINFO);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0],
            PartitionInfo {
                name: "cpu".into(),
                is_default: true,
                gpus_per_node: 4,
                gpu_type: Some("h100".into()),
                nodes: 1,
                max_time_minutes: Some(1440),
                available: true,
                cpus_per_node: 0,
                memory_mib_per_node: 0,
            }
        );
        assert_eq!(p[1].name, "gpu");
        assert!(!p[1].is_default);
    }

    #[test]
    fn partitions_with_several_node_types_are_merged() {
        let text = "boost_usr_prod|gpu:a100:4(S:0-1)|3000|1-00:00:00|up|32|481000\nboost_usr_prod|(null)|2|1-00:00:00|up|48+|512000\ndcgp|(null)|1500|UNLIMITED|down\n";
        let p = parse_sinfo_partitions(text);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].nodes, p[0].gpus_per_node), (3002, 4));
        assert_eq!(p[0].gpu_type.as_deref(), Some("a100"));
        assert_eq!(
            (p[0].cpus_per_node, p[0].memory_mib_per_node),
            (32, 481_000)
        );
        assert_eq!((p[1].cpus_per_node, p[1].memory_mib_per_node), (0, 0));
        assert_eq!((p[1].max_time_minutes, p[1].available), (None, false));
    }

    #[test]
    fn gres_and_time_formats() {
        assert_eq!(parse_gpu_gres("gpu:4"), (None, 4));
        assert_eq!(
            parse_gpu_gres("shard:8,gpu:mi250:8"),
            (Some("mi250".into()), 8)
        );
        assert_eq!(parse_gpu_gres("(null)"), (None, 0));
        // The lab's 24.11 node: two types, four GPUs, no single type.
        assert_eq!(parse_gpu_gres("gpu:h100:2(S:0),gpu:a100:2(S:0)"), (None, 4));
        assert_eq!(
            parse_gpu_gres("gpu:h100:2,gpu:h100:2"),
            (Some("h100".into()), 4)
        );
        assert_eq!(parse_slurm_minutes("2-12:00:00"), Some(3600));
        assert_eq!(parse_slurm_minutes("3:00:00"), Some(180));
        assert_eq!(parse_slurm_minutes("30:00"), Some(30));
        assert_eq!(parse_slurm_minutes("1-00"), Some(1440));
        assert_eq!(parse_slurm_minutes("UNLIMITED"), None);
        assert_eq!(parse_slurm_minutes("garbage"), None);
    }

    #[test]
    fn accounts_limits_usage_and_hours_left() {
        let a = parse_accounts(&["ai-startup".into()], LIMITS, SSHARE);
        assert_eq!(
            a[0],
            AccountInfo {
                name: "ai-startup".into(),
                gpu_minutes_limit: Some(6000),
                gpu_minutes_used: Some(754),
                max_gpus_at_once: Some(4),
            }
        );
        assert!((a[0].gpu_hours_left().unwrap() - 87.433).abs() < 0.01);
        let unlimited = parse_accounts(&["other".into()], "other||\n", "");
        assert_eq!(unlimited[0].gpu_hours_left(), None);
    }

    #[test]
    fn versions_and_storage() {
        assert_eq!(parse_slurm_version("slurm-wlm 22.05.8\n"), "22.05.8");
        assert_eq!(parse_slurm_version("slurm 24.11.1"), "24.11.1");
        let areas = parse_storage("home|/home/alice|73606816\nscratch|/scratch/p1|\nbad\n");
        assert_eq!(areas.len(), 2);
        assert_eq!(areas[0].free_bytes, Some(73_606_816 * 1024));
        assert_eq!(
            (areas[1].kind.as_str(), areas[1].free_bytes),
            ("scratch", None)
        );
    }

    #[test]
    fn the_storage_script_runs_in_a_real_shell() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(STORAGE_SCRIPT)
            .env("HOME", "/")
            .env("SCRATCH", "/tmp")
            .env_remove("WORK")
            .env_remove("PROJECT")
            .output()
            .unwrap();
        let areas = parse_storage(&String::from_utf8(out.stdout).unwrap());
        let kinds: Vec<&str> = areas.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["home", "scratch"]);
        assert!(areas.iter().all(|a| a.free_bytes.is_some()), "{areas:?}");
    }

    proptest::proptest! {
        /// What a cluster answers at login, as any text: never a panic.
        #[test]
        fn any_answer_never_panics(text in "\\PC{0,300}") {
            let _ = parse_storage(&text);
            let _ = parse_slurm_version(&text);
            let _ = parse_sinfo_partitions(&text);
            let _ = parse_gpu_gres(&text);
            let _ = parse_slurm_minutes(&text);
            let _ = parse_tres(&text);
            let _ = parse_accounts(&["a".to_owned()], &text, &text);
        }

        #[test]
        fn any_numbers_in_a_time_limit_never_overflow(d in proptest::prelude::any::<u64>(), h in proptest::prelude::any::<u64>(), m in proptest::prelude::any::<u64>()) {
            let _ = parse_slurm_minutes(&format!("{d}-{h}:{m}:{m}"));
            let _ = parse_slurm_minutes(&format!("{h}:{m}"));
            proptest::prop_assert_eq!(parse_slurm_minutes(&format!("{}", m % 1000)), Some(m % 1000));
        }
    }
}
