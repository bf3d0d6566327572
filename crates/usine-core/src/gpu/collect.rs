//! Where GPU samples come from. For a Slurm job: the recorder the job script starts (its logs are
//! read over the shared connection from where the last read stopped, so history exists even
//! while the app was closed), or a one-shot `srun --overlap` sample wrapped in `timeout` so no
//! step outlives the app. For this computer: `nvidia-smi` when it is there.

use std::collections::BTreeMap;

use super::parse::{self, Parsed, RECORDER_FIELDS};
use crate::jobs::sbatch::shell_path;
use crate::jobs::scheduler::JobError;
use crate::jobs::slurm_ssh::check_id;
use crate::jobs::spec::JobSpec;
use crate::ssh::{Connection, quote};
use crate::store::{Store, StoreError};

/// What one read brought, and what it cost on the connection.
#[derive(Debug, Default)]
pub struct Collected {
    pub parsed: Parsed,
    /// Bytes that came over the connection for it.
    pub bytes: u64,
}

const MARK: u8 = 0x01;

pub fn offsets(store: &Store, job: &str) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut stmt = store
        .db
        .prepare("SELECT file, offset FROM gpu_log_offsets WHERE job = ?1")?;
    let rows = stmt.query_map([job], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn save_offsets(
    store: &Store,
    job: &str,
    offsets: &BTreeMap<String, u64>,
) -> Result<(), StoreError> {
    for (file, offset) in offsets {
        store.db.execute(
            "INSERT INTO gpu_log_offsets(job, file, offset) VALUES (?1, ?2, ?3)
             ON CONFLICT(job, file) DO UPDATE SET offset = excluded.offset",
            rusqlite::params![job, file, *offset as i64],
        )?;
    }
    Ok(())
}

/// `usine-gpu-<id>-<node>.log` → `node`; an array task's `usine-gpu-<id>_<task>-<node>.log` →
/// `node/task`.
fn node_of(file: &str, id: &str) -> String {
    let rest = file
        .strip_prefix(&format!("usine-gpu-{id}"))
        .and_then(|f| f.strip_suffix(".log"))
        .unwrap_or(file);
    match rest.strip_prefix('_').and_then(|r| r.split_once('-')) {
        Some((task, node)) => format!("{node}/{task}"),
        None => rest.trim_start_matches('-').to_owned(),
    }
}

/// Reads what the job's recorders wrote since `offsets` (updated in place: whole lines only).
pub async fn read_recorder(
    conn: &Connection,
    spec: &JobSpec,
    slurm_id: &str,
    offsets: &mut BTreeMap<String, u64>,
) -> Result<Collected, JobError> {
    let id = check_id(slurm_id)?;
    let known: String = offsets
        .iter()
        .map(|(file, off)| format!("{}) o={off};; ", quote(file)))
        .collect();
    let script = format!(
        r#"cd -- {wd} 2>/dev/null || exit 0
for f in usine-gpu-{id}-*.log usine-gpu-{id}_*-*.log; do
  [ -f "$f" ] || continue
  o=0; case "$f" in {known}*) ;; esac
  printf '\001%s %s\n' "$f" "$o"; tail -c +$((o + 1)) -- "$f"
done"#,
        wd = shell_path(&spec.working_dir),
    );
    let out = conn.exec(&script).await?;
    Ok(Collected {
        bytes: out.stdout.len() as u64,
        parsed: read_logs(&out.stdout, id, offsets),
    })
}

/// Parses what `read_recorder`'s script printed (for each log: a marked head naming the file
/// and where reading began, then the new bytes) and moves each file's offset past its whole
/// lines. Offsets count the file's bytes, not the text's characters: a byte that is not UTF-8
/// (read as one three-byte replacement character) must not push the next read past a line.
fn read_logs(stdout: &[u8], id: &str, offsets: &mut BTreeMap<String, u64>) -> Parsed {
    let mut parsed = Parsed::default();
    for chunk in stdout.split(|b| *b == MARK).filter(|c| !c.is_empty()) {
        let Some(newline) = chunk.iter().position(|b| *b == b'\n') else {
            continue;
        };
        let (head, body) = (
            String::from_utf8_lossy(&chunk[..newline]),
            &chunk[newline + 1..],
        );
        let Some((file, off)) = head.rsplit_once(' ') else {
            continue;
        };
        let Ok(off) = off.parse::<u64>() else {
            continue;
        };
        let node = node_of(file, id);
        // Only whole lines: a line being written now is read next time.
        let whole = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let p = parse::recorder_log(&String::from_utf8_lossy(&body[..whole]), &node);
        parsed.samples.extend(p.samples);
        parsed.skipped += p.skipped;
        parsed.no_tool |= p.no_tool;
        offsets.insert(file.to_owned(), off.saturating_add(whole as u64));
    }
    parsed
}

/// One sample of every GPU of a running job, taken inside it as an extra step. Nodes are named
/// by their short host name, as in the recorder's log names (`%N`). `timeout` ends the
/// step even if the connection drops meanwhile (a step without a terminal outlives its client).
pub async fn attach_sample(
    conn: &Connection,
    slurm_id: &str,
    nodes: u32,
    tool: &str,
) -> Result<Collected, JobError> {
    let id = check_id(slurm_id)?;
    let command = format!(
        "h=$(hostname); {} --query-gpu={RECORDER_FIELDS} --format=csv,noheader,nounits | sed \"s/^/${{h%%.*}} /\"",
        quote(tool)
    );
    let out = conn
        .exec(&format!(
            "timeout -k 5 20 srun --jobid={id} --overlap --quiet -N {nodes} --ntasks-per-node=1 bash -c {}",
            quote(&command)
        ))
        .await?;
    if !out.success() {
        return Err(JobError::Scheduler(format!(
            "no GPU sample from the job: {}",
            out.stderr_text()
        )));
    }
    let text = out.stdout_text();
    let mut collected = Collected {
        bytes: out.stdout.len() as u64,
        ..Default::default()
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((node, csv)) = line.split_once(' ') else {
            collected.parsed.skipped += 1;
            continue;
        };
        let p = parse::nvidia_smi_csv(csv, Some(RECORDER_FIELDS), node, 0);
        collected.parsed.samples.extend(p.samples);
        collected.parsed.skipped += p.skipped;
    }
    Ok(collected)
}

/// Slurm's own accounting of the job's GPU use (`gres/gpuutil`), on sites that record it; empty
/// elsewhere (the lab among them). `gpus_per_task`: the GPUs each of the job's tasks sees.
pub async fn slurm_accounting_sample(
    conn: &Connection,
    slurm_id: &str,
    now_ms: i64,
    gpus_per_task: u32,
) -> Result<Collected, JobError> {
    let id = check_id(slurm_id)?;
    let out = conn
        .exec(&format!(
            "sstat -n -P --allsteps -j {id} --format=JobID,TRESUsageInAve 2>/dev/null || true"
        ))
        .await?;
    Ok(Collected {
        bytes: out.stdout.len() as u64,
        parsed: parse::slurm_gpu_tres(&out.stdout_text(), now_ms, gpus_per_task),
    })
}

/// This computer's NVIDIA GPUs, when `nvidia-smi` is there (`None` otherwise).
pub fn sample_this_computer(tool: &str) -> Option<Parsed> {
    let out = std::process::Command::new(tool)
        .args([
            &format!("--query-gpu={RECORDER_FIELDS}"),
            "--format=csv,noheader,nounits",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(parse::nvidia_smi_csv(
        &String::from_utf8_lossy(&out.stdout),
        Some(RECORDER_FIELDS),
        crate::target::this_host(),
        0,
    ))
}

#[cfg(test)]
mod tests {
    /// A garbled line is skipped and read past; a byte that is not UTF-8 does not push the next
    /// read into the middle of a line; a half-written line waits for the next read.
    #[test]
    fn a_bad_line_is_skipped_and_the_offset_moves_past_exactly_it() {
        let good = b"2026/12/02 10:00:00.000, 0, 50, 1000, 81559, 100.5, 40\n";
        let bad = b"\xff\xfe 2026/12/02 garbage \xe9\n";
        let mut out = b"\x01usine-gpu-7-vm.log 100\n".to_vec();
        out.extend_from_slice(good);
        out.extend_from_slice(bad);
        out.extend_from_slice(b"2026/12/02 10:00:10.000, 0, 5");
        let mut offsets = std::collections::BTreeMap::new();
        let p = super::read_logs(&out, "7", &mut offsets);
        assert_eq!((p.samples.len(), p.skipped), (1, 1), "{p:?}");
        assert_eq!(p.samples[0].node, "vm");
        assert_eq!(
            offsets["usine-gpu-7-vm.log"],
            100 + (good.len() + bad.len()) as u64
        );
    }
    #[test]
    fn recorder_log_names_give_the_node_and_the_array_task() {
        assert_eq!(super::node_of("usine-gpu-176-vm.log", "176"), "vm");
        assert_eq!(
            super::node_of("usine-gpu-176-nid001-a.log", "176"),
            "nid001-a"
        );
        assert_eq!(
            super::node_of("usine-gpu-200_4-nid002.log", "200"),
            "nid002/4"
        );
    }
}
