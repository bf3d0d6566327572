//! Where a waiting session stands: how many jobs of its partition Slurm would start before it,
//! and when Slurm's backfill scheduler expects it to start (when it has worked that out).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ssh::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QueuePlace {
    /// Pending jobs of the same partition before it, in Slurm's order (priority, then age).
    /// Sites that hide other users' jobs show fewer: then it is "at least".
    pub ahead: u32,
    /// Slurm's estimate, as it prints it (the cluster's local time, `2026-12-03T14:30:00`).
    pub expected_start: Option<String>,
}

/// The partition's pending jobs in the order Slurm considers them, each with its estimate.
pub(crate) fn command(partition: Option<&str>) -> String {
    let part = partition.map_or_else(String::new, |p| format!(" -p {}", quote(p)));
    format!("squeue -h -t PD{part} --sort=-p,i -o '%i %S'")
}

/// The place of `job` in that list; `None` when it is not there (started, or unreadable).
pub(crate) fn parse(stdout: &[u8], job: &str) -> Option<QueuePlace> {
    let text = String::from_utf8_lossy(stdout);
    let mut ahead = 0u32;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(id), start) = (words.next(), words.next()) else {
            continue;
        };
        if id == job {
            let expected_start = start
                .filter(|s| s.len() >= 16 && s.as_bytes()[4] == b'-' && s.contains('T'))
                .map(str::to_owned);
            return Some(QueuePlace {
                ahead,
                expected_start,
            });
        }
        ahead = ahead.saturating_add(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_counts_the_jobs_before_it_and_keeps_a_real_estimate_only() {
        let out = b"1201 2026-12-03T14:30:00\n1207 N/A\n1188 2026-12-03T15:00:00\n";
        let p = parse(out, "1188").unwrap();
        assert_eq!(p.ahead, 2);
        assert_eq!(p.expected_start.as_deref(), Some("2026-12-03T15:00:00"));
        assert_eq!(parse(out, "1207").unwrap().expected_start, None);
        assert_eq!(parse(out, "1201").unwrap().ahead, 0);
        assert_eq!(parse(out, "999"), None);
        assert_eq!(parse(b"\xff garbage\n\n", "1"), None);
        assert_eq!(
            command(Some("gpu; rm -rf ~")),
            "squeue -h -t PD -p 'gpu; rm -rf ~' --sort=-p,i -o '%i %S'"
        );
    }
}
