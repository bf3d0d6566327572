//! Job templates (`data/templates.toml`): a spec with sensible values and plain-word help for
//! the fields a newcomer has to decide.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::spec::JobSpec;

const CATALOGUE: &str = include_str!("../../data/templates.toml");

/// A template in the language the core writes in ([`crate::lang`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Template {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// Field name (as in the spec) → what to choose and why.
    pub help: BTreeMap<String, String>,
    pub spec: JobSpec,
}

/// The words of a template, in one language.
#[derive(Deserialize)]
struct Words {
    title: String,
    summary: String,
    help: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(flatten)]
    words: crate::lang::Both<Words>,
    spec: JobSpec,
}

#[derive(Deserialize)]
struct Catalogue {
    template: Vec<Entry>,
}

fn entries() -> Vec<Entry> {
    // Compiled in and checked by the tests below, so it always parses.
    toml::from_str::<Catalogue>(CATALOGUE)
        .map(|c| c.template)
        .unwrap_or_else(|e| panic!("data/templates.toml is invalid: {e}"))
}

pub fn all() -> Vec<Template> {
    entries()
        .into_iter()
        .map(|e| {
            let words = e.words.current();
            Template {
                id: e.id,
                title: words.title,
                summary: words.summary,
                help: words.help,
                spec: e.spec,
            }
        })
        .collect()
}

pub fn find(id: &str) -> Option<Template> {
    all().into_iter().find(|t| t.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::sbatch;

    #[test]
    fn every_template_speaks_french_about_the_same_fields() {
        for e in entries() {
            let (en, fr) = (&e.words.en, &e.words.fr);
            assert_eq!(
                fr.help.keys().collect::<Vec<_>>(),
                en.help.keys().collect::<Vec<_>>(),
                "{}",
                e.id
            );
            assert_ne!(fr.title, en.title, "{}", e.id);
        }
        let fr = crate::lang::with(crate::lang::Lang::Fr, || find("first-cpu-job")).unwrap();
        assert_eq!(fr.title, "Mon premier job : découvrir les processeurs");
        let en = crate::lang::with(crate::lang::Lang::En, || find("first-cpu-job")).unwrap();
        assert_eq!(en.title, "My first job: meet the processors");
    }

    #[test]
    fn every_template_renders_reads_back_and_explains_real_fields() {
        let all = all();
        assert_eq!(all.len(), 7);
        for t in &all {
            let script = sbatch::render(&t.spec).unwrap_or_else(|e| panic!("{}: {e}", t.id));
            assert_eq!(sbatch::import(&script).spec, t.spec, "{}", t.id);
            let fields = serde_json::to_value(&t.spec).unwrap();
            for key in t.help.keys() {
                let top = key.split('.').next().unwrap();
                assert!(
                    fields.get(top).is_some(),
                    "{}: help for unknown field {key}",
                    t.id
                );
            }
            assert!(!t.spec.commands.is_empty(), "{}", t.id);
        }
        let sweep = find("hyperparameter-sweep").unwrap();
        assert_eq!(sweep.spec.runs(), 8);
        assert!(
            find("llm-finetune-apptainer")
                .unwrap()
                .spec
                .environment
                .container
                .is_some()
        );
    }

    #[test]
    fn the_first_cpu_job_runs_on_a_computer_without_a_gpu_and_keeps_its_cores_busy() {
        let spec = find("first-cpu-job").unwrap().spec;
        assert_eq!(spec.gpus_per_node, 0);
        assert!(spec.time_limit_minutes <= 10);
        assert!(spec.commands.contains("SLURM_CPUS_PER_TASK"));
    }

    #[test]
    fn the_multi_node_template_launches_through_slurm() {
        let spec = find("pytorch-multi-node").unwrap().spec;
        assert!(spec.nodes > 1);
        assert!(
            spec.commands.contains("srun torchrun") && spec.commands.contains("SLURM_JOB_NODELIST")
        );
    }
}
