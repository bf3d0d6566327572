//! Slurm through the cluster's one SSH connection: `sbatch`, `squeue`, `sacct`, `scancel`. The
//! text formats used here have been stable from Slurm 20.11 to 25.x.

use std::sync::Arc;

use super::sbatch::shell_path;
use super::scheduler::{JobError, Logs, Scheduler, explain_rejection};
use super::slurm::{
    JobRecord, JobState, SACCT_FIELDS, SQUEUE_FORMAT, SQUEUE_TRES_FORMAT, launch_failure,
    parse_sacct, parse_squeue, parse_squeue_gpus, scontrol_fields,
};
use super::spec::JobSpec;
use crate::ssh::{Connection, quote};

pub struct SlurmOverSsh {
    conn: Arc<Connection>,
}

/// Where Usine keeps each submission's script and the job id that proves it was sent.
const JOBS_DIR: &str = "\"$HOME\"/.usine/jobs";

fn check_tag(tag: &str) -> Result<&str, JobError> {
    if !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(tag)
    } else {
        Err(JobError::Local(format!(
            "internal job tag {tag:?} is not a plain word"
        )))
    }
}

/// A Slurm job id (`123`, or `123_4` for an array task): the only form that reaches a shell.
pub(crate) fn check_id(id: &str) -> Result<&str, JobError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        Ok(id)
    } else {
        Err(JobError::NotFound(id.to_owned()))
    }
}

/// The submission, run by the remote shell. The job id is written to a file before anything is
/// printed, so a dropped connection after `sbatch` still leaves the proof behind; a second run
/// with the same tag returns that id. A crash that loses even the file is caught by the tag in
/// the job's comment, looked up in the queue before submitting.
///
/// Only one sender may run `sbatch` for a tag, even from two computers: the claim is the
/// atomic `mkdir` of `claim/` in the tag's folder (atomic on NFS and Lustre homes too). A
/// sender that finds the claim taken waits for the winner's job id and answers with it; if
/// none comes within [`CLAIM_WAIT_ROUNDS`] it gives up for now (exit 95: the job stays queued
/// and the next round adopts the id). A claim left by a sender that died before `sbatch`
/// answered is taken over once it is [`STALE_CLAIM_MINUTES`] old and the queue has no job
/// with the tag. A sender whose submission failed gives the claim back.
fn submit_script(tag: &str, spec: &JobSpec) -> String {
    // Input datasets must be there before the job spends anything.
    let inputs: String = spec
        .inputs
        .iter()
        .map(|p| {
            format!(
                "[ -e {} ] || {{ printf '%s\\n' {} >&2; give_back; exit 94; }}\n",
                shell_path(p),
                quote(p)
            )
        })
        .collect();
    format!(
        r#"d={JOBS_DIR}/{tag}
mkdir -p "$d" || exit 90
sent() {{
  # jobid again last: the other sender may rename jobid.tmp to it between the two reads.
  for f in "$d/jobid" "$d/jobid.tmp" "$d/jobid"; do
    id=$(cut -d';' -f1 "$f" 2>/dev/null) && [ -n "$id" ] && {{ echo "$id"; exit 0; }}
  done
}}
give_back() {{ rm -rf "$d/claim"; }}
in_queue() {{
  queued=$(squeue --me -h -o '%i|%k' 2>/dev/null | awk -F'|' '$2 == "usine:{tag}" {{ print $1; exit }}')
  if [ -n "$queued" ]; then echo "$queued" > "$d/jobid"; echo "$queued"; exit 0; fi
}}
sent
in_queue
n=0
while :; do
  sent
  if mkdir "$d/claim" 2>/dev/null; then break; fi
  if [ -n "$(find "$d/claim" -maxdepth 0 -mmin +{STALE_CLAIM_MINUTES} 2>/dev/null)" ]; then
    mv "$d/claim" "$d/claim.stale.$$" 2>/dev/null && rm -rf "$d/claim.stale.$$"
    continue
  fi
  n=$((n + 1))
  [ "$n" -le {CLAIM_WAIT_ROUNDS} ] || exit 95
  sleep 0.25
done
sent
in_queue
{inputs}cat > "$d/job.sbatch" || {{ give_back; exit 91; }}
mkdir -p -- {wd} && cd -- {wd} || {{ give_back; exit 92; }}
sbatch --parsable --comment=usine:{tag} "$d/job.sbatch" > "$d/jobid.tmp" || {{ rm -f "$d/jobid.tmp"; give_back; exit 93; }}
mv "$d/jobid.tmp" "$d/jobid"
cut -d';' -f1 "$d/jobid""#,
        wd = shell_path(&spec.working_dir),
    )
}

/// How many quarter seconds a second sender waits for the first one's job id (sbatch answers
/// in well under a second on a healthy cluster; 30 s covers a busy controller).
const CLAIM_WAIT_ROUNDS: u32 = 120;
/// After how long a claim without a job id is taken to belong to a sender that died.
const STALE_CLAIM_MINUTES: u32 = 5;

impl SlurmOverSsh {
    pub fn new(conn: Arc<Connection>) -> Self {
        Self { conn }
    }

    /// The shared connection, for what is not the scheduler's job (GPU samples, files).
    pub fn connection(&self) -> &Arc<Connection> {
        &self.conn
    }

    /// A failed job without an exit code (Slurm could not start it) gets Slurm's reason and the
    /// output path, asked while the controller still remembers the job (its `MinJobAge`).
    async fn explain_failures(&self, records: &mut [JobRecord]) -> Result<(), JobError> {
        let ids: Vec<&str> = records
            .iter()
            .filter(|r| r.state == JobState::Failed && r.exit_code.unwrap_or(0) == 0)
            .filter_map(|r| check_id(&r.job_id).ok())
            .take(50)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let out = self
            .conn
            .exec(&format!(
                "for j in {}; do scontrol show job -o \"$j\" 2>/dev/null; done; true",
                ids.join(" ")
            ))
            .await?;
        for (id, words) in out.stdout_text().lines().filter_map(launch_failure) {
            if let Some(r) = records.iter_mut().find(|r| r.job_id == id) {
                r.failure = Some(words);
            }
        }
        Ok(())
    }

    /// Every job of the user the queue holds (not only Usine's).
    pub async fn queue(&self) -> Result<Vec<JobRecord>, JobError> {
        let out = self
            .conn
            .exec(&format!("squeue --me -h -r -o {}", quote(SQUEUE_FORMAT)))
            .await?;
        if !out.success() {
            return Err(JobError::Scheduler(out.stderr_text()));
        }
        Ok(parse_squeue(&out.stdout_text()))
    }
}

/// The last `max_bytes` of each file the shell word names (a path, or a glob).
fn tail_each(word: &str, max_bytes: u64) -> String {
    format!("for f in {word}; do [ -f \"$f\" ] && tail -c {max_bytes} -- \"$f\"; done;")
}

/// Shell words for the files a script's own `--output` and `--error` name, for job `id`
/// (without `--output`, Slurm writes `slurm-ID.out` in the working folder).
fn own_log_paths(id: &str, spec: &JobSpec) -> (String, Option<String>) {
    let given = |flags: [&str; 2]| {
        spec.extra_directives.iter().rev().find_map(|d| {
            let (option, value) = super::sbatch::split_option(d);
            flags.contains(&option.as_str()).then_some(value).flatten()
        })
    };
    let word = |pattern: String| log_word(&pattern, id, &spec.name, spec.array.is_some());
    let output = given(["-o", "--output"]).map_or_else(|| quote(&format!("slurm-{id}.out")), word);
    (output, given(["-e", "--error"]).map(word))
}

/// Slurm's file name pattern as a shell word: `%j` and `%A` the job id (zero-padded as `%4j`
/// asks), `%x` the job's name, `%%` a percent sign; what only the node knew (`%N`, `%u`, an
/// array task's `%a` and own `%j`) becomes a `*` for the shell to find. The rest is quoted.
fn log_word(pattern: &str, id: &str, name: &str, array: bool) -> String {
    let mut word = String::new();
    let mut literal = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let mut width = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            width = (width * 10 + d as usize).min(10);
            chars.next();
        }
        match chars.next() {
            Some('%') => literal.push('%'),
            Some('A') => literal.push_str(&format!("{id:0>width$}")),
            Some('j') if !array => literal.push_str(&format!("{id:0>width$}")),
            Some('x') => literal.push_str(name),
            Some(_) => {
                if !literal.is_empty() {
                    word.push_str(&quote(&literal));
                    literal.clear();
                }
                word.push('*');
            }
            None => literal.push('%'),
        }
    }
    if !literal.is_empty() || word.is_empty() {
        word.push_str(&quote(&literal));
    }
    word
}

impl Scheduler for SlurmOverSsh {
    async fn submit(&self, tag: &str, spec: &JobSpec, script: &str) -> Result<String, JobError> {
        let tag = check_tag(tag)?;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        // The script travels on stdin: no size limit, and never through the shell's parser.
        let _ = tx.send(script.as_bytes().to_vec()).await;
        drop(tx);
        let out = self
            .conn
            .exec_with_input(&submit_script(tag, spec), rx)
            .await?;
        let stdout = out.stdout_text();
        let id = stdout.trim();
        match out.exit_status {
            Some(0) if check_id(id).is_ok() => Ok(id.to_owned()),
            Some(92) => Err(JobError::Rejected(crate::tr!(
                en: "The working folder {} cannot be created on the cluster. Choose a folder you can write to.",
                fr: "Le dossier de travail {} ne peut pas être créé sur le cluster. Choisissez un dossier où vous pouvez écrire.",
                spec.working_dir
            ))),
            Some(95) => Err(JobError::BeingSent),
            Some(94) => Err(JobError::Rejected(crate::tr!(
                en: "The input {} is not on the cluster. Upload it first (Data), or correct the path.",
                fr: "L'entrée {} n'est pas sur le cluster. Envoyez-la d'abord (Données), ou corrigez le chemin.",
                out.stderr_text()
            ))),
            _ => Err(JobError::Rejected(explain_rejection(&out.stderr_text()))),
        }
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<JobRecord>, JobError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(|i| check_id(i)).collect::<Result<_, _>>()?;
        let list = ids.join(",");
        // The queue for jobs still there, accounting for the others (and for exit codes).
        let out = self
            .conn
            .exec(&format!(
                "squeue --me -h -r -o {}; echo '--- tres'; squeue --me -h -r -O {} 2>/dev/null; echo '--- sacct'; sacct -X -n -P -j {list} --format={SACCT_FIELDS} 2>/dev/null || true",
                quote(SQUEUE_FORMAT),
                quote(SQUEUE_TRES_FORMAT)
            ))
            .await?;
        if !out.success() {
            return Err(JobError::Scheduler(out.stderr_text()));
        }
        let text = out.stdout_text();
        let (queue, acct) = text.split_once("--- sacct\n").unwrap_or((&text, ""));
        let (queue, tres) = queue.split_once("--- tres\n").unwrap_or((queue, ""));
        let gpus = parse_squeue_gpus(tres);
        let base = |id: &str| id.split('_').next().unwrap_or(id).to_owned();
        let wanted = |r: &JobRecord| ids.iter().any(|i| *i == r.job_id || *i == base(&r.job_id));
        let mut records: Vec<JobRecord> = parse_squeue(queue)
            .into_iter()
            .filter(|r| wanted(r))
            .collect();
        // `%b` shows GPUs asked per node only; the job's TRES has them however they were asked.
        for r in &mut records {
            if let Some((_, n)) = gpus.iter().find(|(id, _)| *id == r.job_id) {
                r.gpus = Some(*n);
            }
        }
        for r in parse_sacct(acct) {
            // A job that ended within a second can reach accounting first as a bare
            // "allocation" record (no partition); wait for the full one.
            if r.partition.is_empty() {
                continue;
            }
            // sacct knows finished jobs; the queue is fresher for the others.
            if wanted(&r) && !records.iter().any(|q| q.job_id == r.job_id) {
                records.push(r);
            } else if let Some(q) = records.iter_mut().find(|q| q.job_id == r.job_id) {
                q.exit_code = r.exit_code;
                // The job's TRES from squeue may miss a job that has just started.
                q.gpus = q.gpus.or(r.gpus);
            }
        }
        self.explain_failures(&mut records).await?;
        Ok(records)
    }

    async fn cancel(&self, id: &str) -> Result<(), JobError> {
        let id = check_id(id)?;
        let out = self.conn.exec(&format!("scancel {id}")).await?;
        if out.success() {
            Ok(())
        } else {
            Err(JobError::Scheduler(out.stderr_text()))
        }
    }

    async fn logs(&self, id: &str, spec: &JobSpec, max_bytes: u64) -> Result<Logs, JobError> {
        let id = check_id(id)?;
        let custom = spec.extra_directives.iter().any(|d| {
            d.starts_with("-o")
                || d.starts_with("--output")
                || d.starts_with("-e")
                || d.starts_with("--error")
        });
        let script = if custom {
            // The script names its own logs: Slurm knows where they went while it remembers
            // the job (read by key: the fields around them differ between Slurm versions).
            let ask = format!("scontrol show job -o {id} 2>/dev/null; true");
            let info = self.conn.exec(&ask).await?.stdout_text();
            let fields = scontrol_fields(info.lines().next().unwrap_or_default());
            let path = |key| fields.get(key).copied().filter(|p: &&str| !p.is_empty());
            let (output, errors) = match path("StdOut") {
                Some(output) => (quote(output), path("StdErr").map(quote)),
                // Forgotten by slurmctld (MinJobAge, 5 minutes by default): the script's own
                // patterns, expanded as Slurm does.
                None => own_log_paths(id, spec),
            };
            let errors = match errors {
                Some(e) if e != output => tail_each(&e, max_bytes),
                _ => String::new(),
            };
            format!(
                "cd -- {} 2>/dev/null; {} printf '\\n{SPLIT}'; {errors} true",
                shell_path(&spec.working_dir),
                tail_each(&output, max_bytes)
            )
        } else {
            // Usine's own names, in the working folder: NAME-ID.out, or NAME-ID_TASK.out.
            let wd = shell_path(&spec.working_dir);
            let name = quote(&spec.name);
            let glob = if spec.array.is_some() {
                format!("-{id}_*")
            } else {
                format!("-{id}")
            };
            format!(
                r#"cd -- {wd} 2>/dev/null || exit 0
for f in {name}{glob}.out; do [ -f "$f" ] && tail -c {max_bytes} -- "$f"; done; printf '\n{SPLIT}'
for f in {name}{glob}.err; do [ -f "$f" ] && tail -c {max_bytes} -- "$f"; done; true"#
            )
        };
        let out = self.conn.exec(&script).await?;
        let text = out.stdout_text();
        let (stdout, stderr) = text
            .split_once(&format!("\n{SPLIT}"))
            .unwrap_or((&text, ""));
        Ok(Logs {
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        })
    }
}

/// Separates the two streams in one answer; never printed by a job in practice.
const SPLIT: &str = "--- usine: stderr follows ---\n";

#[cfg(test)]
mod tests {
    use super::*;

    /// Once slurmctld has forgotten a job, its script's own log names are expanded by Usine.
    #[test]
    fn a_scripts_own_log_names_are_expanded_as_slurm_does() {
        assert_eq!(
            log_word("/tmp/%x-out-%j.log", "42", "train", false),
            "/tmp/train-out-42.log"
        );
        assert_eq!(
            log_word("logs/%x_%8j.out", "42", "t", false),
            "logs/t_00000042.out"
        );
        assert_eq!(log_word("100%%-%N.out", "7", "t", false), "100%-*.out");
        assert_eq!(log_word("%A_%a.out", "9", "t", true), "9_*.out");
        assert_eq!(log_word("%j.out", "9", "t", true), "*.out");
        assert_eq!(
            log_word("my runs/$(id) %x.out", "1", "it's", false),
            "'my runs/$(id) it'\\''s.out'"
        );
        assert_eq!(log_word("", "1", "t", false), "''");
        let spec = JobSpec {
            name: "bert".into(),
            extra_directives: vec![
                "-o first.log".into(),
                "--output=/scratch/%x-%j.out".into(),
                "-e%x.err".into(),
            ],
            ..JobSpec::default()
        };
        assert_eq!(
            own_log_paths("5", &spec),
            ("/scratch/bert-5.out".into(), Some("bert.err".into()))
        );
        let only_errors = JobSpec {
            extra_directives: vec!["--error=e-%j".into()],
            ..JobSpec::default()
        };
        assert_eq!(
            own_log_paths("5", &only_errors),
            ("slurm-5.out".into(), Some("e-5".into()))
        );
    }

    #[test]
    fn ids_and_tags_are_plain_words() {
        assert!(check_id("123_4").is_ok());
        assert!(check_id("1;rm").is_err() && check_id("").is_err());
        assert!(check_tag("019abc-def").is_ok() && check_tag("a b").is_err());
        let spec = JobSpec {
            working_dir: "~/my runs".into(),
            ..JobSpec::default()
        };
        let s = submit_script("t1", &spec);
        assert!(s.contains("mkdir -p -- \"$HOME\"/'my runs'"), "{s}");
    }
}
