// Plain words for a job's state, and whether it is still moving.
import type { JobState } from "./bindings";
import { t, type MessageKey } from "./i18n";

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
