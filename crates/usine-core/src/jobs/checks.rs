//! Checks a job against what its target offers, before it costs anything: offline, from the
//! cluster profile cached at the last login. Every problem is said in plain words with a fix.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::sbatch::{self, format_time_limit};
use super::spec::JobSpec;
use crate::discovery::{ClusterProfile, PartitionInfo};
use crate::sites::Site;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// The job cannot be submitted as it is.
    Blocker,
    /// It can run, but probably not as the user hopes.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The spec field the problem is about (`partition`, `timeLimitMinutes`, …).
    pub field: String,
    pub severity: Severity,
    /// What is wrong and what to do, in plain words.
    pub message: String,
}

/// The machine the job would run on, as far as the checks need to know (not to be confused
/// with `target::Target`, a place a person can send jobs to).
#[derive(Debug, Clone, Copy)]
pub enum Machine<'a> {
    Cluster(&'a ClusterProfile),
    /// This computer: one node with this many cores and GPUs.
    ThisComputer {
        cpus: u32,
        gpus: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimate {
    /// GPU-hours if the job runs to its time limit (every array task included).
    pub gpu_hours: f64,
    /// The same in the site's billing unit, when the catalogue knows it.
    pub billed: Option<f64>,
    pub billing_unit: Option<String>,
    /// GPU-hours the project has left, when the cluster reports a limit.
    pub gpu_hours_left: Option<f64>,
}

impl CostEstimate {
    pub fn fits(&self) -> bool {
        self.gpu_hours_left
            .is_none_or(|left| self.gpu_hours <= left)
    }
}

pub fn estimate(
    spec: &JobSpec,
    profile: Option<&ClusterProfile>,
    site: Option<&Site>,
) -> CostEstimate {
    let gpu_hours =
        spec.total_gpus() as f64 * spec.time_limit_minutes as f64 / 60.0 * spec.runs() as f64;
    let rate = site.and_then(|s| s.billing_per_gpu_hour);
    let gpu_hours_left = profile.and_then(|p| {
        let account = match &spec.account {
            Some(name) => p.accounts.iter().find(|a| &a.name == name),
            None => p.accounts.first(),
        };
        account.and_then(|a| a.gpu_hours_left())
    });
    CostEstimate {
        gpu_hours,
        billed: rate.map(|r| gpu_hours * r),
        billing_unit: rate.and(site.map(|s| s.billing_unit.clone())),
        gpu_hours_left,
    }
}

fn hours(minutes: u64) -> String {
    if minutes.is_multiple_of(60) {
        format!("{} h", minutes / 60)
    } else {
        format_time_limit(minutes)
    }
}

fn names(parts: &[&PartitionInfo]) -> String {
    parts
        .iter()
        .map(|p| format!("`{}`", p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn check(spec: &JobSpec, machine: Machine<'_>, cost: &CostEstimate) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut add = |field: &str, severity, message: String| {
        out.push(Problem {
            field: field.into(),
            severity,
            message,
        })
    };
    use Severity::{Blocker, Warning};

    if let Err(e) = sbatch::render(spec) {
        add("name", Blocker, e.to_string());
    }
    if spec.commands.trim().is_empty() {
        add(
            "commands",
            Blocker,
            crate::tr!(en: "The job has no commands: write what it should run.", fr: "Le job n'a aucune commande : écrivez ce qu'il doit lancer."),
        );
    }
    for (field, value) in [
        ("nodes", spec.nodes),
        ("tasksPerNode", spec.tasks_per_node),
        ("cpusPerTask", spec.cpus_per_task),
    ] {
        if value == 0 {
            add(
                field,
                Blocker,
                crate::tr!(en: "The {} must be at least 1.", fr: "Le {} doit valoir au moins 1.", field_words(field)),
            );
        }
    }
    if spec.time_limit_minutes == 0 {
        add(
            "timeLimitMinutes",
            Blocker,
            crate::tr!(en: "Give the job a time limit of at least one minute.", fr: "Donnez au job une limite de temps d'au moins une minute."),
        );
    }

    match machine {
        Machine::ThisComputer { cpus, gpus } => {
            if spec.nodes > 1 {
                add(
                    "nodes",
                    Blocker,
                    crate::tr!(
                        en: "This computer is a single node; the job asks for {}. Choose 1 node, or send the job to a cluster.",
                        fr: "Cet ordinateur est un seul nœud ; le job en demande {}. Choisissez 1 nœud, ou envoyez le job à un cluster.",
                        spec.nodes
                    ),
                );
            }
            if spec.gpus_per_node > gpus {
                add(
                    "gpusPerNode",
                    Blocker,
                    match gpus {
                        0 => {
                            crate::tr!(en: "This computer has no GPU Usine can use. Choose 0 GPUs, or send the job to a cluster.", fr: "Cet ordinateur n'a aucun GPU utilisable par Usine. Choisissez 0 GPU, ou envoyez le job à un cluster.")
                        }
                        n => {
                            crate::tr!(en: "This computer has {n} GPU(s). Ask for at most {n}, or send the job to a cluster.", fr: "Cet ordinateur a {n} GPU. Demandez-en au plus {n}, ou envoyez le job à un cluster.")
                        }
                    },
                );
            }
            let wanted = spec.tasks_per_node * spec.cpus_per_task;
            if wanted > cpus {
                add(
                    "cpusPerTask",
                    Warning,
                    crate::tr!(
                        en: "This computer has {cpus} cores and the job asks for {wanted}; it will run, only slower.",
                        fr: "Cet ordinateur a {cpus} cœurs et le job en demande {wanted} ; il tournera, mais plus lentement."
                    ),
                );
            }
        }
        Machine::Cluster(profile) => check_cluster(spec, profile, cost, &mut add),
    }
    out
}

fn check_cluster(
    spec: &JobSpec,
    profile: &ClusterProfile,
    cost: &CostEstimate,
    add: &mut impl FnMut(&str, Severity, String),
) {
    use Severity::{Blocker, Warning};
    let partitions: Vec<&PartitionInfo> = profile.partitions.iter().collect();
    let chosen = match &spec.partition {
        Some(name) => match partitions.iter().find(|p| &p.name == name) {
            Some(p) => Some(*p),
            None => {
                add(
                    "partition",
                    Blocker,
                    crate::tr!(
                        en: "The cluster has no partition `{name}`. Choose one of {}.",
                        fr: "Le cluster n'a pas de partition `{name}`. Choisissez parmi {}.",
                        names(&partitions)
                    ),
                );
                None
            }
        },
        None => partitions.iter().find(|p| p.is_default).copied(),
    };
    if let Some(p) = chosen {
        if !p.available {
            add(
                "partition",
                Warning,
                crate::tr!(
                    en: "`{}` is closed right now (maintenance?): the job will wait until it opens.",
                    fr: "`{}` est fermée en ce moment (maintenance ?) : le job attendra sa réouverture.",
                    p.name
                ),
            );
        }
        if spec.gpus_per_node > 0 {
            let with_gpus: Vec<&PartitionInfo> = partitions
                .iter()
                .filter(|q| q.gpus_per_node > 0)
                .copied()
                .collect();
            if p.gpus_per_node == 0 {
                add(
                    "partition",
                    Blocker,
                    crate::tr!(
                        en: "`{}` has no GPUs. Choose a GPU partition ({}), or ask for 0 GPUs.",
                        fr: "`{}` n'a pas de GPU. Choisissez une partition avec GPU ({}), ou demandez 0 GPU.",
                        p.name,
                        names(&with_gpus)
                    ),
                );
            } else if spec.gpus_per_node > p.gpus_per_node {
                add(
                    "gpusPerNode",
                    Blocker,
                    crate::tr!(
                        en: "A node of `{}` has {} GPUs. Ask for at most {} per node, and more nodes if you need more.",
                        fr: "Un nœud de `{}` a {} GPU. Demandez-en au plus {} par nœud, et plus de nœuds s'il vous en faut davantage.",
                        p.name, p.gpus_per_node, p.gpus_per_node
                    ),
                );
            }
            if let (Some(want), Some(have)) = (&spec.gpu_type, &p.gpu_type)
                && !want.eq_ignore_ascii_case(have)
            {
                add(
                    "gpuType",
                    Blocker,
                    crate::tr!(
                        en: "`{}` has `{have}` GPUs, not `{want}`. Choose `{have}`, or leave the GPU type empty.",
                        fr: "`{}` a des GPU `{have}`, pas `{want}`. Choisissez `{have}`, ou laissez le type de GPU vide.",
                        p.name
                    ),
                );
            }
        }
        if let Some(max) = p.max_time_minutes
            && spec.time_limit_minutes > max
        {
            add(
                "timeLimitMinutes",
                Blocker,
                crate::tr!(
                    en: "`{}` allows at most {}; choose {} or split the job into shorter parts that save checkpoints.",
                    fr: "`{}` permet au plus {} ; choisissez {} ou découpez le job en parties plus courtes qui sauvegardent leur état.",
                    p.name,
                    hours(max),
                    hours(max)
                ),
            );
        }
        let cores = spec.tasks_per_node * spec.cpus_per_task;
        if p.cpus_per_node > 0 && cores > p.cpus_per_node {
            add(
                "cpusPerTask",
                Blocker,
                crate::tr!(
                    en: "A node of `{}` has {} cores and the job asks for {cores} per node. Ask for at most {}.",
                    fr: "Un nœud de `{}` a {} cœurs et le job en demande {cores} par nœud. Demandez-en au plus {}.",
                    p.name,
                    p.cpus_per_node,
                    p.cpus_per_node / spec.tasks_per_node.max(1)
                ),
            );
        }
        if let Some(memory) = spec.memory_mib
            && p.memory_mib_per_node > 0
            && memory > p.memory_mib_per_node
        {
            add(
                "memoryMib",
                Blocker,
                crate::tr!(
                    en: "A node of `{}` has {} GB of memory; ask for at most that.",
                    fr: "Un nœud de `{}` a {} Go de mémoire ; n'en demandez pas plus.",
                    p.name,
                    p.memory_mib_per_node / 1024
                ),
            );
        }
        if p.nodes > 0 && spec.nodes > p.nodes {
            add(
                "nodes",
                Blocker,
                crate::tr!(
                    en: "`{}` has {} node(s); ask for at most {}.",
                    fr: "`{}` a {} nœud(s) ; demandez-en au plus {}.",
                    p.name, p.nodes, p.nodes
                ),
            );
        }
    } else if spec.partition.is_none() {
        add(
            "partition",
            Warning,
            crate::tr!(en: "The cluster has no default partition: choose one.", fr: "Le cluster n'a pas de partition par défaut : choisissez-en une."),
        );
    }

    let accounts = &profile.accounts;
    match &spec.account {
        Some(name) if !accounts.is_empty() && !accounts.iter().any(|a| &a.name == name) => {
            let list: Vec<String> = accounts.iter().map(|a| format!("`{}`", a.name)).collect();
            add(
                "account",
                Blocker,
                crate::tr!(
                    en: "You are not a member of the project `{name}` on this cluster. Choose {}.",
                    fr: "Vous n'êtes pas membre du projet `{name}` sur ce cluster. Choisissez {}.",
                    list.join(&crate::tr!(en: " or ", fr: " ou "))
                ),
            );
        }
        None if accounts.len() > 1 => add(
            "account",
            Warning,
            crate::tr!(en: "You belong to several projects: choose which one pays, or the cluster's default is used.", fr: "Vous appartenez à plusieurs projets : choisissez celui qui paie, sinon celui par défaut du cluster est utilisé."),
        ),
        _ => {}
    }
    let account = match &spec.account {
        Some(name) => accounts.iter().find(|a| &a.name == name),
        None => accounts.first(),
    };
    if let Some(max) = account.and_then(|a| a.max_gpus_at_once) {
        let parallel = spec.array.as_ref().map_or(1, |a| {
            u64::from(a.max_parallel.unwrap_or(u32::MAX)).min(a.runs())
        });
        let at_once = spec.total_gpus() * parallel;
        if spec.total_gpus() > max {
            add(
                "gpusPerNode",
                Blocker,
                crate::tr!(
                    en: "Your project may use at most {max} GPUs at once and this job needs {}. Ask for fewer GPUs.",
                    fr: "Votre projet peut utiliser au plus {max} GPU à la fois et ce job en demande {}. Demandez moins de GPU.",
                    spec.total_gpus()
                ),
            );
        } else if at_once > max {
            add(
                "array",
                Warning,
                crate::tr!(
                    en: "Your project may use {max} GPUs at once, so at most {} runs of the sweep run together; the others wait.",
                    fr: "Votre projet peut utiliser {max} GPU à la fois : au plus {} essais du balayage tournent ensemble, les autres attendent.",
                    max / spec.total_gpus().max(1)
                ),
            );
        }
    }
    if let Some(left) = cost.gpu_hours_left
        && !cost.fits()
    {
        let per_hour = spec.total_gpus() as f64 * spec.runs() as f64;
        let fitting_minutes = (left / per_hour * 60.0).floor() as u64;
        let fix = if fitting_minutes >= 1 {
            crate::tr!(
                en: "shorten the time limit to {} or use fewer GPUs",
                fr: "réduisez la limite de temps à {} ou utilisez moins de GPU",
                hours(fitting_minutes)
            )
        } else {
            crate::tr!(en: "ask your project's manager for more GPU-hours", fr: "demandez plus d'heures GPU au responsable de votre projet")
        };
        add(
            "timeLimitMinutes",
            Blocker,
            crate::tr!(
                en: "This job may use up to {:.1} GPU-hours, but your project has {:.1} left. To run it, {fix}.",
                fr: "Ce job peut utiliser jusqu'à {:.1} heures GPU, mais il en reste {:.1} à votre projet. Pour le lancer, {fix}.",
                cost.gpu_hours, left
            ),
        );
    }
}

fn field_words(field: &str) -> String {
    match field {
        "nodes" => crate::tr!(en: "number of nodes", fr: "nombre de nœuds"),
        "tasksPerNode" => {
            crate::tr!(en: "number of tasks per node", fr: "nombre de tâches par nœud")
        }
        _ => crate::tr!(en: "number of CPU cores per task", fr: "nombre de cœurs CPU par tâche"),
    }
}

pub fn has_blockers(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Blocker)
}

/// Fills what a new job left open from what the cluster offers, so a newcomer's first draft
/// passes the checks without knowing Slurm's words: the partition whose nodes have the GPUs
/// asked for (the cluster's default among equals; for a CPU job the default, else one without
/// GPUs), and the account with the most GPU hours left (an unlimited one counts as most).
/// What the user already chose is kept.
pub fn fill_from_profile(spec: &mut JobSpec, profile: &ClusterProfile) {
    if spec.partition.is_none() {
        let usable = profile.partitions.iter().filter(|p| p.available);
        let pick = if spec.gpus_per_node > 0 {
            // Small clusters put their GPU nodes in several partitions; the name says which
            // one is meant for GPU work (`gpu`, LUMI's `small-g`, Leonardo's `boost_usr_prod`).
            let named_for_gpus = |p: &PartitionInfo| {
                let name = p.name.to_ascii_lowercase();
                name.contains("gpu") || name.ends_with("-g") || name.contains("boost")
            };
            usable
                .filter(|p| p.gpus_per_node >= spec.gpus_per_node)
                .max_by_key(|p| {
                    (
                        named_for_gpus(p),
                        p.is_default,
                        std::cmp::Reverse(p.gpus_per_node),
                    )
                })
        } else {
            usable.max_by_key(|p| (p.is_default, p.gpus_per_node == 0))
        };
        spec.partition = pick.map(|p| p.name.clone());
    }
    if spec.account.is_none() {
        spec.account = profile
            .accounts
            .iter()
            .max_by(|a, b| {
                let left =
                    |x: &crate::discovery::AccountInfo| x.gpu_hours_left().unwrap_or(f64::INFINITY);
                left(a).total_cmp(&left(b))
            })
            .map(|a| a.name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::{AccountInfo, parse_sinfo_partitions};

    /// The lab's profile as discovered (Slurm 22.05): 100 GPU-h, 754 GPU-minutes used.
    fn lab() -> ClusterProfile {
        ClusterProfile {
            slurm_version: "22.05.8".into(),
            partitions: parse_sinfo_partitions(
                "cpu*|(null)|1|1-00:00:00|up|8|8000\ngpu|gpu:h100:4|1|1-00:00:00|up|8|8000\n",
            ),
            accounts: vec![AccountInfo {
                name: "ai-startup".into(),
                gpu_minutes_limit: Some(6000),
                gpu_minutes_used: Some(754),
                max_gpus_at_once: Some(4),
            }],
            budget_report: None,
            storage: vec![],
        }
    }

    fn gpu_job() -> JobSpec {
        JobSpec {
            account: Some("ai-startup".into()),
            partition: Some("gpu".into()),
            gpus_per_node: 2,
            time_limit_minutes: 120,
            commands: "python train.py\n".into(),
            ..JobSpec::default()
        }
    }

    fn problems(spec: &JobSpec) -> Vec<Problem> {
        let p = lab();
        let cost = estimate(spec, Some(&p), None);
        check(spec, Machine::Cluster(&p), &cost)
    }

    #[test]
    fn a_gpu_job_gets_the_partition_named_for_gpus_where_every_partition_has_them() {
        // The lab as it really is: one node, with GPUs, in both partitions; `cpu` the default.
        let mut profile = lab();
        profile.partitions = parse_sinfo_partitions(
            "cpu*|gpu:h100:4|1|1-00:00:00|up|8|8000\ngpu|gpu:h100:4|1|1-00:00:00|up|8|8000\n",
        );
        let mut gpu = JobSpec {
            gpus_per_node: 1,
            ..JobSpec::default()
        };
        fill_from_profile(&mut gpu, &profile);
        assert_eq!(gpu.partition.as_deref(), Some("gpu"));
        let mut cpu = JobSpec::default();
        fill_from_profile(&mut cpu, &profile);
        assert_eq!(cpu.partition.as_deref(), Some("cpu"));
    }

    #[test]
    fn a_new_job_gets_the_partition_and_account_that_fit() {
        let mut profile = lab();
        profile.accounts.push(AccountInfo {
            name: "nearly-spent".into(),
            gpu_minutes_limit: Some(60),
            gpu_minutes_used: Some(30),
            max_gpus_at_once: None,
        });
        let mut gpu = JobSpec {
            gpus_per_node: 2,
            ..JobSpec::default()
        };
        fill_from_profile(&mut gpu, &profile);
        assert_eq!(gpu.partition.as_deref(), Some("gpu"));
        assert_eq!(gpu.account.as_deref(), Some("ai-startup"));
        assert_eq!(
            problems(&JobSpec {
                commands: "x\n".into(),
                time_limit_minutes: 10,
                ..gpu
            }),
            []
        );

        let mut cpu = JobSpec::default();
        fill_from_profile(&mut cpu, &profile);
        assert_eq!(cpu.partition.as_deref(), Some("cpu"));

        // Too many GPUs for any node: left open, so the checks say what the nodes have.
        let mut big = JobSpec {
            gpus_per_node: 8,
            account: Some("nearly-spent".into()),
            ..JobSpec::default()
        };
        fill_from_profile(&mut big, &profile);
        assert_eq!(big.partition, None);
        assert_eq!(
            big.account.as_deref(),
            Some("nearly-spent"),
            "the user's choice is kept"
        );
    }

    #[test]
    fn problems_are_written_in_the_users_language() {
        let spec = JobSpec {
            gpus_per_node: 8,
            ..gpu_job()
        };
        let said = crate::lang::with(crate::lang::Lang::Fr, || problems(&spec));
        let messages: Vec<&str> = said.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages[0].starts_with("Un nœud de `gpu` a 4 GPU."),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("Votre projet peut utiliser au plus 4 GPU"),
            "{messages:?}"
        );
    }

    #[test]
    fn a_good_job_passes_and_costs_what_it_asks() {
        let spec = gpu_job();
        assert_eq!(problems(&spec), []);
        let cost = estimate(&spec, Some(&lab()), None);
        assert!((cost.gpu_hours - 4.0).abs() < 1e-9);
        assert!((cost.gpu_hours_left.unwrap() - 87.43).abs() < 0.01);
        assert!(cost.fits());
    }

    #[test]
    fn each_mistake_is_explained_with_a_fix() {
        type Change = Box<dyn Fn(&mut JobSpec)>;
        let cases: Vec<(Change, &str, &str)> = vec![
            (
                Box::new(|s| s.partition = Some("gpus".into())),
                "partition",
                "Choose one of `cpu`, `gpu`",
            ),
            (
                Box::new(|s| s.partition = Some("cpu".into())),
                "partition",
                "Choose a GPU partition (`gpu`)",
            ),
            (
                Box::new(|s| s.gpus_per_node = 8),
                "gpusPerNode",
                "at most 4 per node",
            ),
            (
                Box::new(|s| s.gpu_type = Some("a100".into())),
                "gpuType",
                "Choose `h100`",
            ),
            (
                Box::new(|s| s.time_limit_minutes = 1500),
                "timeLimitMinutes",
                "`gpu` allows at most 24 h; choose 24 h or split",
            ),
            (Box::new(|s| s.nodes = 3), "nodes", "ask for at most 1"),
            (
                Box::new(|s| s.cpus_per_task = 32),
                "cpusPerTask",
                "has 8 cores and the job asks for 32",
            ),
            (
                Box::new(|s| s.memory_mib = Some(64_000)),
                "memoryMib",
                "has 7 GB of memory",
            ),
            (
                Box::new(|s| s.account = Some("other".into())),
                "account",
                "Choose `ai-startup`",
            ),
            (Box::new(|s| s.commands.clear()), "commands", "no commands"),
            (Box::new(|s| s.name = "a b".into()), "name", "no spaces"),
        ];
        for (change, field, words) in cases {
            let mut spec = gpu_job();
            change(&mut spec);
            let found = problems(&spec);
            assert!(
                found.iter().any(|p| p.field == field
                    && p.severity == Severity::Blocker
                    && p.message.contains(words)),
                "{field}: {found:#?}"
            );
        }
    }

    #[test]
    fn a_job_beyond_the_budget_is_blocked_with_what_would_fit() {
        // 4 GPUs × 24 h = 96 GPU-h > 87.4 left.
        let spec = JobSpec {
            gpus_per_node: 4,
            time_limit_minutes: 1440,
            ..gpu_job()
        };
        let found = problems(&spec);
        let budget = found
            .iter()
            .find(|p| p.message.contains("GPU-hours"))
            .expect("budget problem");
        assert_eq!(budget.severity, Severity::Blocker);
        assert!(
            budget.message.contains("96.0 GPU-hours") && budget.message.contains("87.4 left"),
            "{}",
            budget.message
        );
        assert!(
            budget
                .message
                .contains("shorten the time limit to 21:51:00"),
            "{}",
            budget.message
        );
    }

    #[test]
    fn sweeps_count_every_run_and_warn_about_the_gpu_cap() {
        let mut spec = gpu_job();
        spec.array = Some(crate::jobs::spec::JobArray {
            first: 0,
            last: 7,
            max_parallel: None,
        });
        let cost = estimate(&spec, Some(&lab()), None);
        assert!((cost.gpu_hours - 32.0).abs() < 1e-9);
        let found = problems(&spec);
        assert!(
            found.iter().any(|p| p.field == "array"
                && p.severity == Severity::Warning
                && p.message.contains("at most 2 runs")),
            "{found:#?}"
        );
    }

    #[test]
    fn billing_units_come_from_the_catalogue() {
        let spec = JobSpec {
            nodes: 1,
            gpus_per_node: 8,
            time_limit_minutes: 60,
            ..gpu_job()
        };
        let lumi = crate::sites::find("lumi").unwrap();
        let cost = estimate(&spec, None, Some(&lumi));
        assert_eq!(
            (cost.billed, cost.billing_unit.as_deref()),
            (Some(4.0), Some("LUMI GPU-hours"))
        );
        assert!(cost.fits());
    }

    #[test]
    fn this_computer_is_one_node() {
        let spec = JobSpec {
            nodes: 2,
            gpus_per_node: 1,
            ..gpu_job()
        };
        let cost = estimate(&spec, None, None);
        let found = check(&spec, Machine::ThisComputer { cpus: 2, gpus: 0 }, &cost);
        let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["nodes", "gpusPerNode"]);
        assert!(has_blockers(&found));
    }
}
