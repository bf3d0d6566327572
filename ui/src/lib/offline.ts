// Which clusters need the user's attention on every screen because work waits on them: the
// link dropped while connected, or jobs sit in the outbox until the cluster is connected again.
// A login that failed with nothing queued is said where it was asked (Clusters, the guide).
import type { ConnectionState, JobEntry, OfflineWhy } from "./bindings";

export interface Attention {
  cluster: string;
  /** Why it is not connected, when that matters here. */
  offline: string | null;
  /** Whether it could not be reached, refused the login, or dropped the link. */
  why: OfflineWhy | null;
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
  /** The clusters the user has: a forgotten one is no one's concern. */
  known: string[],
): Attention[] {
  const clusters = new Set([...Object.keys(states), ...Object.keys(queued)]);
  clusters.delete(thisComputer); // never offline
  const out: Attention[] = [];
  for (const cluster of [...clusters].sort()) {
    if (!known.includes(cluster)) continue;
    const state = states[cluster];
    if (state?.state === "connected" || state?.state === "connecting") continue;
    const waiting = queued[cluster] ?? 0;
    const lost = state?.state === "offline" && (state.why === "dropped" || waiting > 0);
    if (!lost && waiting === 0) continue;
    out.push({
      cluster,
      offline: lost && state?.state === "offline" ? state.reason : null,
      why: lost && state?.state === "offline" ? state.why : null,
      queued: waiting,
    });
  }
  return out;
}
