import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { clusters } from "./clusters.svelte";
import type { ClusterStateEvent, ClusterView } from "./bindings";

afterEach(() => {
  clusters.reset();
  clearMocks();
});

const view = (name: string): ClusterView =>
  ({ settings: { name }, connected: false }) as unknown as ClusterView;

describe("the shared clusters", () => {
  it("keep each cluster's last state and re-read the list when one changes or a screen opens", async () => {
    let reads = 0;
    let names = ["lumi"];
    mockIPC(
      (cmd) => {
        if (cmd === "list_clusters") {
          reads++;
          return names.map(view);
        }
      },
      { shouldMockEvents: true },
    );
    await clusters.follow();
    expect(clusters.names).toEqual(["lumi"]);
    names = ["lumi", "leonardo"];
    const changed: ClusterStateEvent = { cluster: "lumi", state: { state: "connected" } };
    await emit("cluster-state", changed);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(clusters.states.lumi).toEqual({ state: "connected" });
    expect(clusters.names).toEqual(["lumi", "leonardo"]);
    // A second screen following: no second subscription, but the list is read again.
    await clusters.follow();
    expect(reads).toBe(3);
    await emit("cluster-state", { cluster: "leonardo", state: { state: "connecting" } });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reads).toBe(4);
  });
});
