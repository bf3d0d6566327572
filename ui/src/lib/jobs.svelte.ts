// One list of jobs for every screen: one subscription to `job-changed` and one read of the list
// per change for the whole app, instead of one per screen (there were four).
import type { JobEntry } from "./bindings";
import { listJobs, onJobChanged } from "./ipc";

class Jobs {
  list: JobEntry[] = $state([]);
  #following: Promise<void> | null = null;

  /** Follows the job list from now on, once for the whole app. It listens first and reads the
   *  list after: a job that changes while the list is read (a job on this computer starts
   *  within milliseconds of Submit) is not missed. */
  follow(): Promise<void> {
    this.#following ??= onJobChanged(() => void this.refresh()).then(() => this.refresh());
    return this.#following;
  }

  async refresh(): Promise<void> {
    this.list = await listJobs();
  }

  /** Forgets the subscription and the list (tests make new IPC mocks for each case). */
  reset(): void {
    this.#following = null;
    this.list = [];
  }
}

export const jobs = new Jobs();
