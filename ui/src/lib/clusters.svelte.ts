// One view of the clusters for every screen: the list, and each one's connection state as the
// events tell it. One subscription for the whole app (there were three, each forgetting what
// happened while its screen was closed).
import type { ClusterView, ConnectionState } from "./bindings";
import { listClusters, onCertificate, onClusterState } from "./ipc";

class Clusters {
  list: ClusterView[] = $state([]);
  /** The last state each cluster's connection reported, by cluster name. */
  states: Record<string, ConnectionState> = $state({});
  /** Clusters whose browser login could not renew itself: the person must log in again. */
  loginNeeded: Record<string, boolean> = $state({});
  #following: Promise<void> | null = null;

  /** Follows connection states from now on (one subscription for the whole app) and reads the
   *  list, again at each call: a screen that opens shows it as it is now. A state change
   *  re-reads it too (a first login adds what the cluster offers). */
  follow(): Promise<void> {
    if (this.#following) return this.#following.then(() => this.refresh());
    this.#following = Promise.all([
      onClusterState((e) => {
        this.states = { ...this.states, [e.cluster]: e.state };
        void this.refresh();
      }),
      // A renewed certificate moves the card's end date; one that cannot renew asks for a login.
      onCertificate((e) => {
        this.loginNeeded = { ...this.loginNeeded, [e.cluster]: e.kind === "loginNeeded" };
        void this.refresh();
      }),
    ]).then(() => this.refresh());
    return this.#following;
  }

  /** Reads the list again (after adding, importing or forgetting a cluster). */
  async refresh(): Promise<void> {
    this.list = await listClusters();
  }

  /** The names of the clusters the person added. */
  get names(): string[] {
    return this.list.map((c) => c.settings.name);
  }

  /** Forgets the subscription, the list and the states (tests make new IPC mocks each case). */
  reset(): void {
    this.#following = null;
    this.list = [];
    this.states = {};
    this.loginNeeded = {};
  }
}

export const clusters = new Clusters();
