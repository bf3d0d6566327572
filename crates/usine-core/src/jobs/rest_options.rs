//! Which `#SBATCH` options travel through slurmrestd, and how. slurmrestd does not read the
//! script's `#SBATCH` lines: every option must become a field of the job description, or the
//! job silently runs without it. Up to v0.0.38 the fields are handed to Slurm's own option
//! parser (`slurm_process_option_data`), so a value is passed as the text sbatch would read;
//! from v0.0.39 they are typed (numbers, booleans, lists), so only options whose value Usine
//! can type exactly are carried. Anything else is refused, by name, before the job is sent.

use serde_json::{Value, json};

/// How slurmrestd reads a job description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// v0.0.38 and older: field names from Slurm's option table, values as text.
    Options,
    /// v0.0.39: typed fields, plain numbers.
    Typed,
    /// v0.0.40 and newer: typed fields, numbers as `{set, infinite, number}`.
    TypedObjects,
}

impl Api {
    pub fn of(version: &str) -> Self {
        match version {
            "v0.0.36" | "v0.0.37" | "v0.0.38" => Self::Options,
            "v0.0.39" => Self::Typed,
            _ => Self::TypedObjects,
        }
    }
}

/// How a typed API wants an option's value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Integer,
    /// An option without a value, sent as this boolean.
    Flag(bool),
    /// A comma-separated list, sent as a JSON list.
    List,
    /// `--begin`: only `now+N[unit]` can be typed (absolute times are the cluster's local time,
    /// which Usine cannot know here).
    Begin,
    /// A path, relative to the working folder as for sbatch.
    Path,
}

struct Carried {
    long: &'static str,
    short: Option<char>,
    /// The field name for [`Api::Options`], if that API carries it.
    options_field: Option<&'static str>,
    /// The field name and value type for the typed APIs, if they carry it.
    typed: Option<(&'static str, Kind)>,
}

const fn carried(
    long: &'static str,
    short: Option<char>,
    options_field: Option<&'static str>,
    typed: Option<(&'static str, Kind)>,
) -> Carried {
    Carried {
        long,
        short,
        options_field,
        typed,
    }
}

/// The options Usine carries, by sbatch's long name. Field names from Slurm's OpenAPI
/// documents (v0.0.38 option table; v0.0.39–v0.0.44 job description).
const CARRIED: &[Carried] = &[
    carried(
        "begin",
        Some('b'),
        Some("begin_time"),
        Some(("begin_time", Kind::Begin)),
    ),
    carried(
        "constraint",
        Some('C'),
        Some("constraints"),
        Some(("constraints", Kind::Text)),
    ),
    carried(
        "cpus-per-gpu",
        None,
        Some("cpus_per_gpu"),
        Some(("cpus_per_gpu", Kind::Integer)),
    ),
    carried(
        "dependency",
        Some('d'),
        Some("dependency"),
        Some(("dependency", Kind::Text)),
    ),
    carried(
        "distribution",
        Some('m'),
        Some("distribution"),
        Some(("distribution", Kind::Text)),
    ),
    carried(
        "error",
        Some('e'),
        Some("standard_error"),
        Some(("standard_error", Kind::Path)),
    ),
    carried(
        "exclude",
        Some('x'),
        Some("exclude_nodes"),
        Some(("excluded_nodes", Kind::List)),
    ),
    carried(
        "hold",
        Some('H'),
        Some("hold"),
        Some(("hold", Kind::Flag(true))),
    ),
    carried(
        "licenses",
        Some('L'),
        Some("licenses"),
        Some(("licenses", Kind::Text)),
    ),
    carried(
        "mail-type",
        None,
        Some("mail_type"),
        Some(("mail_type", Kind::List)),
    ),
    carried(
        "mail-user",
        None,
        Some("mail_user"),
        Some(("mail_user", Kind::Text)),
    ),
    carried("nice", None, Some("nice"), Some(("nice", Kind::Integer))),
    carried(
        "nodelist",
        Some('w'),
        Some("nodelist"),
        Some(("required_nodes", Kind::List)),
    ),
    carried(
        "no-requeue",
        None,
        Some("no_requeue"),
        Some(("requeue", Kind::Flag(false))),
    ),
    carried(
        "ntasks-per-core",
        None,
        Some("tasks_per_core"),
        Some(("tasks_per_core", Kind::Integer)),
    ),
    carried(
        "output",
        Some('o'),
        Some("standard_output"),
        Some(("standard_output", Kind::Path)),
    ),
    carried("qos", Some('q'), Some("qos"), Some(("qos", Kind::Text))),
    carried(
        "requeue",
        None,
        Some("requeue"),
        Some(("requeue", Kind::Flag(true))),
    ),
    carried(
        "reservation",
        None,
        Some("reservation"),
        Some(("reservation", Kind::Text)),
    ),
    carried("signal", None, Some("signal"), None),
    carried(
        "threads-per-core",
        None,
        Some("threads_per_core"),
        Some(("threads_per_core", Kind::Integer)),
    ),
    carried("time-min", None, Some("time_minimum"), None),
    carried("wckey", None, Some("wckey"), Some(("wckey", Kind::Text))),
];

/// An option the site's REST service cannot carry: sending the job without it would run a
/// different job than the script says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCarried(pub Vec<String>);

impl NotCarried {
    pub fn message(&self) -> String {
        let options = self.0.join(", ");
        crate::tr!(
            en: "This cluster takes jobs through its REST service, which cannot carry {options}: the job would run without it. Remove it from the job, or remove the REST address from the cluster's settings so that jobs go over SSH, which keeps every option.",
            fr: "Ce cluster reçoit les jobs par son service REST, qui ne peut pas transmettre {options} : le job tournerait sans. Retirez-le du job, ou retirez l'adresse REST des réglages du cluster pour que les jobs passent par SSH, qui garde toutes les options."
        )
    }
}

fn find(key: &str) -> Option<&'static Carried> {
    if let Some(long) = key.strip_prefix("--") {
        let long = if long == "license" { "licenses" } else { long };
        CARRIED.iter().find(|c| c.long == long)
    } else {
        let short = key.strip_prefix('-')?.chars().next()?;
        CARRIED.iter().find(|c| c.short == Some(short))
    }
}

/// Options no version of the REST API carries (for the checks, before the version is known).
pub fn never_carried(directives: &[String]) -> Vec<String> {
    directives
        .iter()
        .filter_map(|d| {
            let (key, _) = super::sbatch::split_option(d);
            find(&key).is_none().then_some(key)
        })
        .collect()
}

/// The job description fields for `directives` (as written after `#SBATCH`), for `api`.
/// Relative paths are taken from `working_dir` (absolute); `now` is the Unix time, for
/// `--begin=now+…`.
pub fn fields(
    directives: &[String],
    api: Api,
    working_dir: &str,
    now: u64,
) -> Result<Vec<(&'static str, Value)>, NotCarried> {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for directive in directives {
        let (key, value) = super::sbatch::split_option(directive);
        let field =
            find(&key).and_then(|c| typed_value(c, api, value.as_deref(), working_dir, now));
        match field {
            Some(f) => out.push(f),
            None => refused.push(directive.trim().to_owned()),
        }
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(NotCarried(refused))
    }
}

fn typed_value(
    option: &Carried,
    api: Api,
    value: Option<&str>,
    working_dir: &str,
    now: u64,
) -> Option<(&'static str, Value)> {
    let path = |v: &str| {
        if v.starts_with('/') {
            v.to_owned()
        } else {
            format!("{}/{v}", working_dir.trim_end_matches('/'))
        }
    };
    if api == Api::Options {
        let field = option.options_field?;
        let value = match (option.typed.map(|t| t.1), value) {
            (Some(Kind::Flag(_)), None) => json!(true),
            (Some(Kind::Path), Some(v)) => json!(path(v)),
            (_, Some(v)) => json!(v),
            (_, None) => return None,
        };
        return Some((field, value));
    }
    let (field, kind) = option.typed?;
    let number = |n: i64| {
        if api == Api::TypedObjects {
            json!({"set": true, "infinite": false, "number": n})
        } else {
            json!(n)
        }
    };
    let value = match (kind, value) {
        (Kind::Flag(b), None) => json!(b),
        (Kind::Text, Some(v)) => json!(v),
        (Kind::Path, Some(v)) => json!(path(v)),
        // Plain integers in every typed version for these fields.
        (Kind::Integer, Some(v)) => json!(v.parse::<i64>().ok()?),
        (Kind::List, Some(v)) => json!(v.split(',').map(str::trim).collect::<Vec<_>>()),
        (Kind::Begin, Some(v)) => number(i64::try_from(now + relative_seconds(v)?).ok()?),
        _ => return None,
    };
    Some((field, value))
}

/// `now+90`, `now+30minutes`, `now+2hours`, … as seconds from now, as sbatch reads them.
fn relative_seconds(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("now+")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let (n, unit) = rest.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn v0038_hands_the_text_to_slurms_option_parser() {
        let got = fields(
            &strings(&[
                "--nice=50",
                "--begin now+1hour",
                "-q normal",
                "--no-requeue",
                "-o logs/%j.out",
            ]),
            Api::Options,
            "/home/ana/run",
            0,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("nice", json!("50")),
                ("begin_time", json!("now+1hour")),
                ("qos", json!("normal")),
                ("no_requeue", json!(true)),
                ("standard_output", json!("/home/ana/run/logs/%j.out")),
            ]
        );
    }

    #[test]
    fn typed_versions_get_typed_values() {
        let directives = strings(&[
            "--nice=50",
            "--begin=now+2hours",
            "--mail-type=END,FAIL",
            "--requeue",
        ]);
        let got = fields(&directives, Api::TypedObjects, "/w", 1_000).unwrap();
        assert_eq!(got[0], ("nice", json!(50)));
        assert_eq!(
            got[1],
            (
                "begin_time",
                json!({"set": true, "infinite": false, "number": 8_200})
            )
        );
        assert_eq!(got[2], ("mail_type", json!(["END", "FAIL"])));
        assert_eq!(got[3], ("requeue", json!(true)));
        let plain = fields(&directives[1..2], Api::Typed, "/w", 1_000).unwrap();
        assert_eq!(plain[0], ("begin_time", json!(8_200)));
    }

    #[test]
    fn what_cannot_travel_is_named_never_dropped() {
        let refused = fields(
            &strings(&[
                "--nice=5",
                "--export=NONE",
                "--begin=tomorrow",
                "--signal=B:USR1@60",
            ]),
            Api::TypedObjects,
            "/w",
            0,
        )
        .unwrap_err();
        assert_eq!(
            refused.0,
            strings(&["--export=NONE", "--begin=tomorrow", "--signal=B:USR1@60"])
        );
        assert!(refused.message().contains("--export=NONE"));
        assert_eq!(
            never_carried(&strings(&["--nice=5", "--export=NONE"])),
            ["--export"]
        );
    }
}
