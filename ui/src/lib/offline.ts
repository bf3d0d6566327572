// Which clusters need the user's attention because work waits on them: the link dropped, or
// jobs sit in the outbox until the cluster is connected again.
import type { ConnectionState, JobEntry } from "./bindings";

export interface Attention {
  cluster: string;
  /** Why it cannot be reached, when the connection was lost. */
  offline: string | null;
  /** Jobs queued for it, sent when it is connected again. */
  queued: number;
}

export function queuedByTarget(jobs: JobEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const job of jobs) if (job.state === "queued") out[job.target] = (out[job.target] ?? 0) + 1;
  return out;
}

export function needsAttention(
  states: Record<string, ConnectionState>,
  queued: Record<string, number>,
  thisComputer: string,
): Attention[] {
  const clusters = new Set([...Object.keys(states), ...Object.keys(queued)]);
  clusters.delete(thisComputer); // never offline
  const out: Attention[] = [];
  for (const cluster of [...clusters].sort()) {
    const state = states[cluster];
    if (state?.state === "connected" || state?.state === "connecting") continue;
    const offline = state?.state === "offline" ? state.reason : null;
    const waiting = queued[cluster] ?? 0;
    if (offline !== null || waiting > 0) out.push({ cluster, offline, queued: waiting });
  }
  return out;
}
