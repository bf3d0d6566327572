//! GPU use of running and finished jobs (and, for jobs on this computer, their CPU and memory
//! use): samples from the tools' formats, kept per job, node and GPU, and drawn as charts.

pub mod chart;
pub mod collect;
pub mod export;
pub mod parse;
mod sample_store;
pub mod series;
pub mod watch;
