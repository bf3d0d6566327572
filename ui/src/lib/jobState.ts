// Plain words for a job's state (whether it is finished, the core says: `JobEntry.finished`).
import type { JobState } from "./bindings";
import { t, type MessageKey } from "./i18n";

export function stateKey(state: JobState): string {
  return typeof state === "string" ? state : "other";
}

export function stateWords(state: JobState): string {
  return t(`job.state.${stateKey(state)}` as MessageKey);
}
