// Generated from the Rust types in crates/usine-core by `ipc_types::typescript_module`.
// Do not edit: run `UPDATE_BINDINGS=1 cargo test -p usine-core ipc_types` instead.

export type Target = { 
/**
 * Stable id used by the UI and the CLI to name the target.
 */
id: string, 
/**
 * Plain-words name shown to the user.
 */
name: string, kind: TargetKind, 
/**
 * The machine's host name, as the operating system reports it.
 */
host: string, };

export type TargetKind = "thisComputer";

export type HostMetrics = { 
/**
 * Average busy share of all logical CPUs since the previous sample, 0–100.
 */
cpuPercent: number, cpuCount: number, memoryUsedBytes: number, memoryTotalBytes: number, 
/**
 * When the sample was taken, milliseconds since the Unix epoch (UTC).
 */
sampledAtMs: number, };

export type Report = { checks: Array<Check>, };

export type Check = { 
/**
 * What was checked, in plain words.
 */
name: string, outcome: Outcome, };

export type Outcome = { "status": "ok", detail: string, } | { "status": "warning", detail: string, fix: string, } | { "status": "problem", detail: string, fix: string, };
