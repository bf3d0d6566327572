//! Jobs: what to run (spec, templates), as a Slurm script (sbatch), whether it fits (checks and
//! cost), and where it runs (schedulers).

pub mod checks;
pub mod sbatch;
pub mod slurm;
pub mod spec;
pub mod templates;
