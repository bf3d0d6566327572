// Plain words for a job's state (whether it is finished, the core says: `JobEntry.finished`).
import type { JobState } from "./bindings";
import { t, type MessageKey } from "./i18n";

export function stateKey(state: JobState): string {
  return typeof state === "string" ? state : "other";
}

export function stateWords(state: JobState): string {
  return t(`job.state.${stateKey(state)}` as MessageKey);
}

/** How a state's badge reads: running is busy, completed ok, an end that went wrong danger. */
export function toneOf(state: JobState): "ok" | "busy" | "danger" | null {
  const key = stateKey(state);
  if (key === "running") return "busy";
  if (key === "completed") return "ok";
  if (["failed", "timeout", "outOfMemory", "nodeFail"].includes(key)) return "danger";
  return null;
}
