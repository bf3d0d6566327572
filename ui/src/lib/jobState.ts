// Plain words for a job's state, and whether it is still moving.
import type { JobEntry, JobState } from "./bindings";
import { t, type MessageKey } from "./i18n";
import { THIS_COMPUTER } from "./ipc";

export function stateKey(state: JobState): string {
  return typeof state === "string" ? state : "other";
}

export function stateWords(state: JobState): string {
  return t(`job.state.${stateKey(state)}` as MessageKey);
}

const finished = new Set([
  "completed",
  "failed",
  "cancelled",
  "timeout",
  "outOfMemory",
  "nodeFail",
  "preempted",
]);

export function isFinished(state: JobState): boolean {
  return finished.has(stateKey(state));
}

/** Whether Usine follows the job's use (mirrors the core's `gpu::watch::followed`): its GPUs
 * when it records them, and every job on this computer. */
export function followsUse(job: JobEntry): boolean {
  return job.target === THIS_COMPUTER || (job.spec.recordGpuMetrics && job.spec.gpusPerNode > 0);
}
