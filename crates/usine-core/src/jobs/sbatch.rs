//! A job spec as an `sbatch` script, and back. Rendering is deterministic and commented; every
//! value the user typed is either checked to be a plain word (for `#SBATCH` lines, which sbatch
//! splits itself) or single-quoted for the shell, so no name, path or argument can break out.
//! Import reads any script: known `#SBATCH` options become fields, others are kept verbatim.

use std::fmt::Write as _;

use super::spec::{EnvVar, JobArray, JobSpec, PythonEnv};
use crate::discovery::{parse_gpu_gres, parse_slurm_minutes};
use crate::ssh::quote;

const SETUP_MARK: &str = "# --- set up by Usine ---";
const COMMANDS_MARK: &str = "# --- your commands ---";
const CONTAINER_MARK: &str = "# --- your commands, run inside the container ---";
const HEREDOC_END: &str = "USINE_COMMANDS_END";
/// Stops the job with a clear message when a set-up line fails (a module that does not exist,
/// a venv or conda environment that is not there): otherwise the commands ran in the wrong
/// environment and the job could even end "completed".
const SETUP_GUARD: &str = "trap 'echo \"Usine: the set-up line above failed (module, Python environment or working folder), so your commands were not run. Correct it in the job, then run it again.\" >&2; exit 1' ERR";
const SETUP_GUARD_END: &str = "trap - ERR";
/// A working folder written without `~` or `/` is in the home, as for scp: the job goes home
/// first (a relative `cd` from where Slurm starts it failed with a spurious error).
const CD_HOME_THEN: &str = "cd -- \"$HOME\" && cd -- ";
/// One sampler per node, next to the job's logs, for the GPU charts. It is a job step, so Slurm
/// stops it with the job and nothing is left running on the node. Array tasks write
/// `usine-gpu-<array job>_<task>-<node>.log`, so the array's id finds every task's log.
/// How every version of the recorder line begins.
const RECORDER_START: &str = r#"srun --overlap --ntasks-per-node=1 --output="usine-gpu-"#;
const GPU_RECORDER: &str = r#"srun --overlap --ntasks-per-node=1 --output="usine-gpu-${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}-%N.log" bash -c 'if command -v nvidia-smi >/dev/null; then exec nvidia-smi --query-gpu=timestamp,index,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu --format=csv,noheader,nounits -l 10; elif command -v rocm-smi >/dev/null; then while true; do printf "%s " "$(date +%s)"; rocm-smi --showuse --showmeminfo vram --showpower --showtemp --json | tr -d "\n"; echo; sleep 10; done; elif command -v amd-smi >/dev/null; then while true; do printf "%s " "$(date +%s)"; amd-smi metric --usage --mem-usage --power --temperature --json | tr -d "\n"; echo; sleep 10; done; else echo "usine: no GPU tool"; fi' 2>/dev/null &"#;

/// Larger than any batch script: a file past this is something else, opened by mistake.
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// Why a script file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScriptFileError {
    #[error("{}", crate::tr!(
        en: "it is {} KiB; a batch script is a page of text",
        fr: "il fait {} Kio ; un script de soumission tient sur une page",
        .kib
    ))]
    TooLarge { kib: u64 },
    #[error("{0}")]
    Unreadable(#[from] std::io::Error),
}

/// Reads a batch script from disk, refusing files far too large to be one.
pub fn read_script(path: &std::path::Path) -> Result<String, ScriptFileError> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_SCRIPT_BYTES {
        return Err(ScriptFileError::TooLarge { kib: size / 1024 });
    }
    Ok(std::fs::read_to_string(path)?)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{}", crate::tr!(
        en: "The {} \"{}\" cannot go into a Slurm script: use only letters, digits and . _ - : / @ + , = % (no spaces or quotes).",
        fr: "La valeur « {1} » ({0}) ne peut pas aller dans un script Slurm : utilisez seulement des lettres, des chiffres et . _ - : / @ + , = % (ni espaces ni guillemets).",
        .field, .value
    ))]
    UnsafeValue { field: &'static str, value: String },
    #[error("{}", crate::tr!(
        en: "The {} cannot contain a line break.",
        fr: "Le champ {} ne peut pas contenir de saut de ligne.",
        .0
    ))]
    LineBreak(&'static str),
    #[error("{}", crate::tr!(
        en: "A variable name must be letters, digits and _ and not start with a digit: \"{}\".",
        fr: "Un nom de variable est fait de lettres, de chiffres et de _ et ne commence pas par un chiffre : « {} ».",
        .0
    ))]
    BadVariableName(String),
    #[error("{}", crate::tr!(
        en: "The commands contain a line \"{}\", which Usine uses to mark their end inside a container. Rename it.",
        fr: "Les commandes contiennent une ligne « {} », qu'Usine utilise pour marquer leur fin dans un conteneur. Renommez-la.",
        HEREDOC_END
    ))]
    ReservedLine,
}

/// `#SBATCH` values are split by sbatch, not a shell: allow only characters that need no quoting.
fn plain<'a>(field: &'static str, value: &'a str) -> Result<&'a str, RenderError> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:/@+,=%".contains(&b));
    if ok {
        Ok(value)
    } else {
        Err(RenderError::UnsafeValue {
            field,
            value: value.to_owned(),
        })
    }
}

fn one_line(field: &'static str, value: &str) -> Result<(), RenderError> {
    if value.contains(['\n', '\r']) {
        return Err(RenderError::LineBreak(field));
    }
    Ok(())
}

fn is_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A path for `cd`: `~` and `~/…` stay relative to the home folder, the rest is quoted.
pub(crate) fn shell_path(path: &str) -> String {
    match path {
        "~" | "" => "\"$HOME\"".into(),
        p if p.starts_with("~/") => format!("\"$HOME\"/{}", quote(&p[2..])),
        p => quote(p),
    }
}

fn unshell_path(text: &str) -> Option<String> {
    if text == "\"$HOME\"" {
        return Some("~".into());
    }
    if let Some(rest) = text.strip_prefix("\"$HOME\"/") {
        return Some(format!("~/{}", unquote(rest)?));
    }
    unquote(text)
}

/// The inverse of [`quote`] for the words it produces (plain, or single-quoted with `'\''`).
pub fn unquote(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('\'') {
            let end = r.find('\'')?;
            out.push_str(&r[..end]);
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix("\\'") {
            out.push('\'');
            rest = r;
        } else {
            let end = rest.find(['\'', '\\']).unwrap_or(rest.len());
            let word = &rest[..end];
            // A backslash not before a quote is nothing `quote` writes (and it would not move
            // `rest` on: the fuzzer found this loop never ending on `\x`).
            if word.is_empty()
                || word
                    .bytes()
                    .any(|b| !(b.is_ascii_alphanumeric() || b"-_./=:,@+%".contains(&b)))
            {
                return None;
            }
            out.push_str(word);
            rest = &rest[end..];
        }
    }
    Some(out)
}

/// Slurm's `D-HH:MM:SS`.
pub fn format_time_limit(minutes: u64) -> String {
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:00")
    } else {
        format!("{h:02}:{m:02}:00")
    }
}

fn container_runtime_flag(spec: &JobSpec) -> &'static str {
    match (spec.gpus_per_node, spec.gpu_type.as_deref()) {
        (0, _) => "",
        (_, Some(t)) if t.to_ascii_lowercase().starts_with("mi") => " --rocm",
        _ => " --nv",
    }
}

pub fn render(spec: &JobSpec) -> Result<String, RenderError> {
    let mut s = String::new();
    let name = plain("job name", &spec.name)?;
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# \"{name}\", written by Usine {} (job spec v{}). Usine can read this script back.",
        crate::VERSION,
        spec.version
    );
    let mut d = |line: String| {
        s.push_str("#SBATCH ");
        s.push_str(&line);
        s.push('\n');
    };
    d(format!("--job-name={name}"));
    if let Some(a) = &spec.account {
        d(format!("--account={}", plain("account", a)?));
    }
    if let Some(p) = &spec.partition {
        d(format!("--partition={}", plain("partition", p)?));
    }
    d(format!("--nodes={}", spec.nodes));
    d(format!("--ntasks-per-node={}", spec.tasks_per_node));
    d(format!("--cpus-per-task={}", spec.cpus_per_task));
    if spec.gpus_per_node > 0 {
        match &spec.gpu_type {
            Some(t) => d(format!(
                "--gres=gpu:{}:{}",
                plain("GPU type", t)?,
                spec.gpus_per_node
            )),
            None => d(format!("--gres=gpu:{}", spec.gpus_per_node)),
        }
    }
    if let Some(m) = spec.memory_mib {
        d(format!("--mem={m}M"));
    }
    d(format!(
        "--time={}",
        format_time_limit(spec.time_limit_minutes)
    ));
    if let Some(a) = &spec.array {
        match a.max_parallel {
            Some(p) => d(format!("--array={}-{}%{p}", a.first, a.last)),
            None => d(format!("--array={}-{}", a.first, a.last)),
        }
    }
    let has = |opts: &[&str]| {
        spec.extra_directives
            .iter()
            .any(|l| opts.iter().any(|o| l.starts_with(o)))
    };
    let logs = if spec.array.is_some() { "%A_%a" } else { "%j" };
    if !has(&["-o", "--output"]) {
        d(format!("--output={name}-{logs}.out"));
    }
    if !has(&["-e", "--error"]) {
        d(format!("--error={name}-{logs}.err"));
    }
    if let Some(email) = &spec.notify.email {
        plain("e-mail address", email)?;
    }
    for mail in mail_directives(spec) {
        d(mail);
    }
    for extra in &spec.extra_directives {
        if extra.contains('\n') {
            return Err(RenderError::UnsafeValue {
                field: "extra option",
                value: extra.clone(),
            });
        }
        d(extra.clone());
    }

    s.push('\n');
    s.push_str(SETUP_MARK);
    s.push('\n');
    let env = &spec.environment;
    one_line("working folder", &spec.working_dir)?;
    for m in &env.modules {
        one_line("module", m)?;
    }
    if let Some(PythonEnv::Venv(p) | PythonEnv::Conda(p)) = &env.python {
        one_line("Python environment", p)?;
    }
    if let Some(c) = &env.container {
        one_line("container image", c)?;
    }
    for v in &env.variables {
        one_line("variable value", &v.value)?;
    }
    let _ = writeln!(s, "{SETUP_GUARD}");
    let wd = &spec.working_dir;
    if wd.is_empty() || wd.starts_with('~') || wd.starts_with('/') {
        let _ = writeln!(s, "cd -- {}", shell_path(wd));
    } else {
        let _ = writeln!(s, "{CD_HOME_THEN}{}", quote(wd));
    }
    for m in &env.modules {
        let _ = writeln!(s, "module load {}", quote(m));
    }
    match &env.python {
        Some(PythonEnv::Venv(p)) => {
            let _ = writeln!(s, "source -- {}/bin/activate", shell_path(p));
        }
        Some(PythonEnv::Conda(e)) => {
            let _ = writeln!(s, "conda activate {}", quote(e));
        }
        None => {}
    }
    for v in &env.variables {
        if !is_var_name(&v.name) {
            return Err(RenderError::BadVariableName(v.name.clone()));
        }
        // `~/…` is the home, as in a shell's own `NAME=~/…` (quoted, it would be a folder `~`).
        let value = if v.value == "~" || v.value.starts_with("~/") {
            shell_path(&v.value)
        } else {
            quote(&v.value)
        };
        let _ = writeln!(s, "export {}={value}", v.name);
    }
    if spec.record_gpu_metrics {
        s.push_str(GPU_RECORDER);
        s.push('\n');
    }
    let _ = writeln!(s, "{SETUP_GUARD_END}");
    match &env.container {
        None => {
            s.push_str(COMMANDS_MARK);
            s.push('\n');
            s.push_str(&spec.commands);
        }
        Some(image) => {
            if spec.commands.lines().any(|l| l == HEREDOC_END) {
                return Err(RenderError::ReservedLine);
            }
            s.push_str(CONTAINER_MARK);
            s.push('\n');
            let _ = writeln!(s, "USINE_COMMANDS=$(cat <<'{HEREDOC_END}'");
            s.push_str(&spec.commands);
            if !spec.commands.is_empty() && !spec.commands.ends_with('\n') {
                s.push('\n');
            }
            let _ = writeln!(s, "{HEREDOC_END}\n)");
            let _ = writeln!(
                s,
                "\"$(command -v apptainer || command -v singularity)\" exec{} {} bash -c \"$USINE_COMMANDS\"",
                container_runtime_flag(spec),
                quote(image)
            );
        }
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// The result of reading a script: the spec, and what could not be understood, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub spec: JobSpec,
    pub notes: Vec<String>,
}

/// Splits `--opt=value`, `--opt value`, `-Xvalue` and `-X value` into (option, value).
/// The e-mail options of a spec, as directives (`--mail-type=END,FAIL`, `--mail-user=…`).
pub(crate) fn mail_directives(spec: &JobSpec) -> Vec<String> {
    let Some(email) = &spec.notify.email else {
        return Vec::new();
    };
    let types: Vec<&str> = [
        (spec.notify.on_start, "BEGIN"),
        (spec.notify.on_end, "END"),
        (spec.notify.on_failure, "FAIL"),
    ]
    .into_iter()
    .filter_map(|(on, t)| on.then_some(t))
    .collect();
    let mut out = Vec::new();
    if !types.is_empty() {
        out.push(format!("--mail-type={}", types.join(",")));
    }
    out.push(format!("--mail-user={email}"));
    out
}

pub(crate) fn split_option(line: &str) -> (String, Option<String>) {
    let line = line.trim();
    if let Some(long) = line.strip_prefix("--") {
        if let Some((k, v)) = long.split_once('=') {
            return (format!("--{k}"), Some(v.trim().to_owned()));
        }
        return match long.split_once(char::is_whitespace) {
            Some((k, v)) => (format!("--{k}"), Some(v.trim().to_owned())),
            None => (line.to_owned(), None),
        };
    }
    if let Some(short) = line.strip_prefix('-') {
        let mut chars = short.chars();
        if let Some(c) = chars.next() {
            let rest = chars.as_str().trim();
            let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
            return (format!("-{c}"), (!rest.is_empty()).then(|| rest.to_owned()));
        }
    }
    (line.to_owned(), None)
}

/// `64G`, `64000`, `64000M`, `1T`, `512K` → MiB.
pub fn parse_memory_mib(text: &str) -> Option<u64> {
    let text = text.trim();
    let (num, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = num.parse().ok()?;
    Some(match unit.to_ascii_uppercase().as_str() {
        "" | "M" | "MB" => n,
        "G" | "GB" => n * 1024,
        "T" | "TB" => n * 1024 * 1024,
        "K" | "KB" => n.div_ceil(1024),
        _ => return None,
    })
}

fn parse_array(text: &str) -> Option<JobArray> {
    let (range, max) = match text.split_once('%') {
        Some((r, m)) => (r, Some(m.parse().ok()?)),
        None => (text, None),
    };
    let (first, last) = match range.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = range.parse().ok()?;
            (n, n)
        }
    };
    (first <= last).then_some(JobArray {
        first,
        last,
        max_parallel: max,
    })
}

/// Reads the `#SBATCH` options sbatch itself would read (up to the first command).
pub fn import(script: &str) -> Imported {
    let mut spec = JobSpec {
        commands: String::new(),
        ..JobSpec::default()
    };
    let mut notes = Vec::new();
    let lines: Vec<&str> = script.lines().collect();
    let mut body_start = usize::from(lines.first().is_some_and(|l| l.starts_with("#!")));
    let mut mail_types: Option<String> = None;
    let mut total_gpus: Option<u32> = None;
    let mut named = false;
    let mut chdir: Option<String> = None;
    // sbatch reads directives until the first command; comments in between belong to the body.
    for (index, line) in lines.iter().enumerate() {
        let t = line.trim();
        if !(t.is_empty() || t.starts_with('#')) || t == SETUP_MARK {
            break;
        }
        let Some(option) = t.strip_prefix("#SBATCH") else {
            continue;
        };
        body_start = index + 1;
        let option = option.split(" #").next().unwrap_or_default().trim();
        let (key, value) = split_option(option);
        let v = value.clone().unwrap_or_default();
        if v.contains(char::is_whitespace) {
            // Several options on one line, or a value sbatch would split: keep it as written.
            spec.extra_directives.push(option.to_owned());
            notes.push(format!("kept as written: #SBATCH {option}"));
            continue;
        }
        let num = || v.parse::<u32>().ok();
        let known = match key.as_str() {
            "-J" | "--job-name" => {
                named = true;
                spec.name = v.clone();
                true
            }
            "-A" | "--account" => {
                spec.account = Some(v.clone());
                true
            }
            "-p" | "--partition" => {
                spec.partition = Some(v.clone());
                true
            }
            "-N" | "--nodes" => num().map(|n| spec.nodes = n).is_some(),
            "--ntasks-per-node" => num().map(|n| spec.tasks_per_node = n).is_some(),
            "-c" | "--cpus-per-task" => num().map(|n| spec.cpus_per_task = n).is_some(),
            "--gres" if !v.contains(',') && v.starts_with("gpu") => {
                let (kind, n) = parse_gpu_gres(&v);
                spec.gpu_type = kind;
                spec.gpus_per_node = n;
                n > 0
            }
            "--gpus-per-node" => {
                let (kind, n) = parse_gpu_gres(&format!("gpu:{v}"));
                spec.gpu_type = kind;
                spec.gpus_per_node = n;
                n > 0
            }
            "-G" | "--gpus" => {
                let (kind, n) = parse_gpu_gres(&format!("gpu:{v}"));
                spec.gpu_type = kind;
                total_gpus = Some(n);
                n > 0
            }
            "--mem" => parse_memory_mib(&v)
                .map(|m| spec.memory_mib = Some(m))
                .is_some(),
            "-t" | "--time" => parse_slurm_minutes(&v)
                .map(|m| spec.time_limit_minutes = m)
                .is_some(),
            "-a" | "--array" => parse_array(&v).map(|a| spec.array = Some(a)).is_some(),
            "--mail-user" => {
                spec.notify.email = Some(v.clone());
                true
            }
            "--mail-type" => {
                mail_types = Some(v.to_ascii_uppercase());
                true
            }
            "-D" | "--chdir" => {
                chdir = Some(v.clone());
                true
            }
            // Usine writes its own log names from the job name.
            "-o" | "--output" | "-e" | "--error" => {
                let ours = v.starts_with(&format!("{}-", spec.name))
                    && (v.ends_with("%j.out")
                        || v.ends_with("%j.err")
                        || v.ends_with("%a.out")
                        || v.ends_with("%a.err"));
                if !ours {
                    spec.extra_directives.push(option.to_owned());
                }
                true
            }
            _ => false,
        };
        if !known {
            spec.extra_directives.push(option.to_owned());
            notes.push(format!(
                "kept as written: #SBATCH {option} (Usine does not check this option)"
            ));
        }
    }
    if let Some(total) = total_gpus {
        if total % spec.nodes.max(1) == 0 {
            spec.gpus_per_node = total / spec.nodes.max(1);
        } else {
            notes.push(format!(
                "{total} GPUs cannot be split evenly over {} nodes: check the GPUs per node",
                spec.nodes
            ));
        }
    }
    if let Some(types) = mail_types {
        let all = types.contains("ALL");
        spec.notify.on_start = all || types.contains("BEGIN");
        spec.notify.on_end = all || types.contains("END");
        spec.notify.on_failure = all || types.contains("FAIL");
    }
    if !named {
        spec.name = "imported-job".into();
    }
    let mut body = &lines[body_start.min(lines.len())..];
    while body.first().is_some_and(|l| l.trim().is_empty()) {
        body = &body[1..];
    }
    read_body(&mut spec, body, chdir, &mut notes);
    Imported { spec, notes }
}

/// The part after the directives: Usine's own set-up section is read back field by field;
/// anything else is the user's commands, kept exactly.
fn read_body(spec: &mut JobSpec, body: &[&str], chdir: Option<String>, notes: &mut Vec<String>) {
    spec.working_dir = chdir.unwrap_or_else(|| "~".into());
    let mut i = 0;
    if body.first().is_none_or(|l| l.trim() != SETUP_MARK) {
        spec.commands = join(body);
        // Someone else's GPU script: record GPU use, as Usine does for every GPU job.
        spec.record_gpu_metrics = spec.gpus_per_node > 0;
        return;
    }
    i += 1;
    let env = &mut spec.environment;
    while i < body.len() && body[i] != COMMANDS_MARK && body[i] != CONTAINER_MARK {
        let line = body[i];
        // Usine's recorder line, this version's or an earlier one (they all start the same).
        let parsed = if line == GPU_RECORDER || line.starts_with(RECORDER_START) {
            spec.record_gpu_metrics = true;
            Some(())
        } else if line == SETUP_GUARD || line == SETUP_GUARD_END {
            Some(())
        } else if let Some(p) = line.strip_prefix(CD_HOME_THEN) {
            unquote(p).map(|p| spec.working_dir = p)
        } else if let Some(p) = line.strip_prefix("cd -- ") {
            unshell_path(p).map(|p| spec.working_dir = p)
        } else if let Some(m) = line.strip_prefix("module load ") {
            unquote(m).map(|m| env.modules.push(m))
        } else if let Some(p) = line
            .strip_prefix("source -- ")
            .and_then(|p| p.strip_suffix("/bin/activate"))
        {
            unshell_path(p).map(|p| env.python = Some(PythonEnv::Venv(p)))
        } else if let Some(e) = line.strip_prefix("conda activate ") {
            unquote(e).map(|e| env.python = Some(PythonEnv::Conda(e)))
        } else if let Some((k, v)) = line
            .strip_prefix("export ")
            .and_then(|kv| kv.split_once('='))
        {
            unshell_path(v).map(|v| {
                env.variables.push(EnvVar {
                    name: k.to_owned(),
                    value: v,
                })
            })
        } else {
            None
        };
        if parsed.is_none() {
            notes.push(format!(
                "set-up line not understood, moved to the commands: {line}"
            ));
            spec.commands.push_str(line);
            spec.commands.push('\n');
        }
        i += 1;
    }
    if i >= body.len() {
        return;
    }
    let rest = &body[i + 1..];
    if body[i] == COMMANDS_MARK {
        spec.commands.push_str(&join(rest));
        return;
    }
    // Container form: the heredoc holds the commands, the last line names the image.
    let end = rest.iter().position(|l| *l == HEREDOC_END);
    let run = rest
        .iter()
        .rev()
        .find(|l| l.contains(" exec") && l.contains("$USINE_COMMANDS"));
    match (end, run) {
        (Some(end), Some(run)) if end >= 1 => {
            spec.commands.push_str(&join(&rest[1..end]));
            let image = run
                .split_once(" exec")
                .map(|(_, r)| {
                    r.trim_start_matches(" --nv")
                        .trim_start_matches(" --rocm")
                        .trim()
                })
                .and_then(|r| r.strip_suffix("bash -c \"$USINE_COMMANDS\""))
                .and_then(|img| unquote(img.trim()));
            match image {
                Some(img) => env.container = Some(img),
                None => notes.push("the container image could not be read back".into()),
            }
        }
        _ => spec.commands.push_str(&join(rest)),
    }
}

fn join(lines: &[&str]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::spec::{Environment, Notify};
    use proptest::prelude::*;

    fn full_spec() -> JobSpec {
        JobSpec {
            name: "llama-ft".into(),
            account: Some("ai-startup".into()),
            partition: Some("gpu".into()),
            nodes: 2,
            tasks_per_node: 1,
            cpus_per_task: 16,
            gpus_per_node: 4,
            gpu_type: Some("h100".into()),
            memory_mib: Some(64_000),
            time_limit_minutes: 1530,
            working_dir: "~/runs/my data".into(),
            environment: Environment {
                modules: vec!["cuda/12.4".into(), "nccl".into()],
                container: None,
                python: Some(PythonEnv::Venv("~/venvs/torch".into())),
                variables: vec![EnvVar {
                    name: "HF_HOME".into(),
                    value: "$SCRATCH/hf cache".into(),
                }],
            },
            commands: "srun torchrun train.py --lr 0.1\n".into(),
            array: Some(JobArray {
                first: 0,
                last: 9,
                max_parallel: Some(2),
            }),
            notify: Notify {
                email: Some("ana@example.eu".into()),
                on_start: false,
                ..Notify::default()
            },
            extra_directives: vec!["--exclusive".into(), "--constraint=ib".into()],
            ..JobSpec::default()
        }
    }

    /// Found by the fuzzer (`fuzz_parsers::sbatch_import`): a backslash before anything but a
    /// quote made `unquote` loop for ever, and with it the import of a script whose set-up
    /// `cd` line held one.
    #[test]
    fn a_backslash_not_before_a_quote_is_refused_not_looped_on() {
        assert_eq!(unquote("\\x"), None);
        assert_eq!(unquote("a\\"), None);
        assert_eq!(unquote("'it'\\''s'"), Some("it's".into()));
        let script = format!("#!/bin/bash\n{SETUP_MARK}\ncd \\x\necho hi\n");
        let _ = import(&script);
    }

    #[test]
    fn rendering_is_commented_deterministic_and_reads_back() {
        let spec = full_spec();
        let script = render(&spec).unwrap();
        assert_eq!(script, render(&spec).unwrap());
        assert!(script.starts_with("#!/bin/bash\n# \"llama-ft\", written by Usine"));
        for line in [
            "#SBATCH --gres=gpu:h100:4",
            "#SBATCH --time=1-01:30:00",
            "#SBATCH --array=0-9%2",
            "#SBATCH --output=llama-ft-%A_%a.out",
            "#SBATCH --mail-type=END,FAIL",
            "cd -- \"$HOME\"/'runs/my data'",
            "export HF_HOME='$SCRATCH/hf cache'",
            "source -- \"$HOME\"/venvs/torch/bin/activate",
        ] {
            assert!(
                script.lines().any(|l| l == line),
                "{line} missing in\n{script}"
            );
        }
        let back = import(&script);
        assert_eq!(back.spec, spec, "{:?}", back.notes);
    }

    #[test]
    fn containers_wrap_the_commands_and_read_back() {
        let mut spec = full_spec();
        spec.environment.container = Some("/project/images/llm train.sif".into());
        spec.commands = "python finetune.py --data \"$1\"\necho 'done'\n".into();
        let script = render(&spec).unwrap();
        assert!(
            script
                .contains("exec --nv '/project/images/llm train.sif' bash -c \"$USINE_COMMANDS\"")
        );
        assert_eq!(import(&script).spec, spec);
        spec.commands = format!("echo\n{HEREDOC_END}\n");
        assert_eq!(render(&spec), Err(RenderError::ReservedLine));
    }

    #[test]
    fn a_script_with_an_earlier_recorder_still_records() {
        let spec = JobSpec {
            record_gpu_metrics: true,
            gpus_per_node: 2,
            ..full_spec()
        };
        let earlier = GPU_RECORDER.replace(
            r#" elif command -v amd-smi >/dev/null; then while true; do printf "%s " "$(date +%s)"; amd-smi metric --usage --mem-usage --power --temperature --json | tr -d "\n"; echo; sleep 10; done;"#,
            "",
        );
        assert_ne!(earlier, GPU_RECORDER);
        let script = render(&spec).unwrap().replace(GPU_RECORDER, &earlier);
        assert_eq!(import(&script).spec, spec);
    }

    #[test]
    fn hostile_values_are_refused_or_quoted() {
        for (field, bad) in [
            ("name", "x --wrap=rm -rf ~"),
            ("account", "a\n#SBATCH --uid=0"),
            ("partition", "gpu'"),
        ] {
            let mut spec = JobSpec::default();
            match field {
                "name" => spec.name = bad.into(),
                "account" => spec.account = Some(bad.into()),
                _ => spec.partition = Some(bad.into()),
            }
            assert!(matches!(
                render(&spec),
                Err(RenderError::UnsafeValue { .. })
            ));
        }
        let mut spec = JobSpec::default();
        spec.environment.variables.push(EnvVar {
            name: "X;id".into(),
            value: "1".into(),
        });
        assert!(matches!(
            render(&spec),
            Err(RenderError::BadVariableName(_))
        ));
    }

    #[test]
    fn a_hostile_setup_runs_in_a_real_shell_without_breaking_out() {
        let dir = std::env::temp_dir().join(format!("usine-sbatch-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("it's $(id)")).unwrap();
        let spec = JobSpec {
            working_dir: dir.join("it's $(id)").display().to_string(),
            environment: Environment {
                variables: vec![EnvVar {
                    name: "V".into(),
                    value: "`touch pwned`; $(touch pwned) 'q' \"d\"".into(),
                }],
                ..Default::default()
            },
            commands: "printf '%s|%s' \"$V\" \"$(basename \"$PWD\")\"\n".into(),
            ..JobSpec::default()
        };
        let script = render(&spec).unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "`touch pwned`; $(touch pwned) 'q' \"d\"|it's $(id)"
        );
        assert!(!dir.join("it's $(id)/pwned").exists() && !dir.join("pwned").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `DATA=~/datasets/cats` (what the first-job guide sets) is the home's folder when the
    /// job runs, as a shell reads it; an empty value stays empty; both read back unchanged.
    #[test]
    fn a_variable_with_a_tilde_is_the_home_and_reads_back() {
        let var = |name: &str, value: &str| EnvVar {
            name: name.into(),
            value: value.into(),
        };
        let spec = JobSpec {
            environment: Environment {
                variables: vec![
                    var("DATA", "~/datasets/it's"),
                    var("EMPTY", ""),
                    var("HOMEONLY", "~"),
                    var("OTHER", "~bob/x"),
                ],
                ..Default::default()
            },
            commands: "printf '%s|%s|%s|%s' \"$DATA\" \"$EMPTY\" \"$HOMEONLY\" \"$OTHER\"\n".into(),
            ..JobSpec::default()
        };
        let script = render(&spec).unwrap();
        assert_eq!(import(&script).spec, spec);
        let home = std::env::temp_dir();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("HOME", &home)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{h}/datasets/it's||{h}|~bob/x", h = home.display())
        );
    }

    #[test]
    fn real_scripts_import_with_unknown_options_kept() {
        let script = "#!/bin/bash -l\n#SBATCH -J bert\n#SBATCH -A project_465000001\n#SBATCH --partition=standard-g\n#SBATCH -N 2\n#SBATCH --gpus-per-node=8\n#SBATCH -t 2-00:00:00\n#SBATCH --mem=480G\n#SBATCH --exclusive\n#SBATCH -o logs/%x-%j.out\n#SBATCH --mail-type=ALL --mail-user=x # not parsed\n\nmodule load LUMI\nsrun python train.py\n#SBATCH --ignored-after-commands\n";
        let i = import(script);
        let s = &i.spec;
        assert_eq!(s.name, "bert");
        assert_eq!(s.account.as_deref(), Some("project_465000001"));
        assert_eq!(
            (s.nodes, s.gpus_per_node, s.gpu_type.as_deref()),
            (2, 8, None)
        );
        assert!(
            s.record_gpu_metrics,
            "GPU jobs record their GPUs' use by default"
        );
        assert_eq!(
            (s.time_limit_minutes, s.memory_mib),
            (2880, Some(480 * 1024))
        );
        assert_eq!(
            s.extra_directives,
            [
                "--exclusive",
                "-o logs/%x-%j.out",
                "--mail-type=ALL --mail-user=x"
            ]
        );
        assert!(
            s.commands
                .starts_with("module load LUMI\nsrun python train.py\n")
        );
        assert!(i.notes.iter().any(|n| n.contains("--exclusive")));
        // Re-rendering keeps the user's own log name instead of adding Usine's.
        let again = render(s).unwrap();
        assert!(!again.contains("--output=bert-"));
    }

    #[test]
    fn options_in_every_spelling() {
        assert_eq!(split_option("-N2"), ("-N".into(), Some("2".into())));
        assert_eq!(split_option("-N 2"), ("-N".into(), Some("2".into())));
        assert_eq!(
            split_option("--nodes=2"),
            ("--nodes".into(), Some("2".into()))
        );
        assert_eq!(
            split_option("--nodes 2"),
            ("--nodes".into(), Some("2".into()))
        );
        assert_eq!(parse_memory_mib("1T"), Some(1 << 20));
        assert_eq!(parse_memory_mib("2048K"), Some(2));
        assert_eq!(parse_memory_mib("lots"), None);
        assert_eq!(format_time_limit(30), "00:30:00");
        let g = import("#SBATCH -N 2\n#SBATCH -G a100:8\n").spec;
        assert_eq!((g.gpus_per_node, g.gpu_type.as_deref()), (4, Some("a100")));
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_.-]{0,11}"
    }

    fn any_text() -> impl Strategy<Value = String> {
        "[ -~é\t]{0,30}"
    }

    prop_compose! {
        fn arb_spec()(
            name in word(), account in proptest::option::of(word()), partition in proptest::option::of(word()),
            nodes in 1u32..64, tasks in 1u32..8, cpus in 1u32..128, gpus in 0u32..9,
            gpu_type in proptest::option::of(word()), mem in proptest::option::of(1u64..2_000_000),
            minutes in 1u64..20_000, wd in any_text(), modules in proptest::collection::vec(any_text(), 0..3),
            container in proptest::option::of(any_text().prop_filter("non-empty", |s| !s.is_empty())),
            venv in proptest::option::of(any_text().prop_filter("non-empty", |s| !s.is_empty())),
            vars in proptest::collection::vec(("[A-Z_][A-Z0-9_]{0,8}", any_text()), 0..3),
            commands in "([ -~é\t]{0,40}\n){0,4}",
            array in proptest::option::of((0u32..100, 0u32..100, proptest::option::of(1u32..10))),
            record in any::<bool>(),
        ) -> JobSpec {
            JobSpec {
                name, account, partition, nodes, tasks_per_node: tasks, cpus_per_task: cpus,
                gpus_per_node: gpus, gpu_type: gpu_type.filter(|_| gpus > 0), memory_mib: mem, time_limit_minutes: minutes,
                working_dir: if wd.is_empty() { "~".into() } else { wd },
                environment: Environment {
                    modules: modules.into_iter().filter(|m| !m.is_empty()).collect(),
                    container,
                    python: venv.map(PythonEnv::Venv),
                    variables: vars.into_iter().map(|(name, value)| EnvVar { name, value }).collect(),
                },
                commands,
                array: array.map(|(a, b, m)| JobArray { first: a.min(b), last: a.max(b), max_parallel: m }),
                record_gpu_metrics: record,
                ..JobSpec::default()
            }
        }
    }

    proptest! {
        #[test]
        fn render_then_import_gives_the_same_spec(spec in arb_spec()) {
            let script = render(&spec).unwrap();
            let back = import(&script);
            prop_assert_eq!(back.spec, spec);
        }

        #[test]
        fn unquote_inverts_quote(text in "[ -~é\n]{1,40}") {
            prop_assert_eq!(unquote(&quote(&text)), Some(text));
        }
    }
}
