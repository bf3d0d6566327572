//! Jobs: what to run (spec, templates), as a Slurm script (sbatch), whether it fits (checks and
//! cost), and where it runs (schedulers).

pub mod checks;
pub mod drafts;
pub mod history;
pub mod inputs;
pub mod local;
pub mod local_usage;
pub mod notices;
pub mod rest_options;
pub mod sbatch;
pub mod scheduler;
pub mod slurm;
pub mod slurm_rest;
pub mod slurm_ssh;
pub mod spec;
pub mod targets;
pub mod templates;
pub mod tracker;
pub mod tracking;
