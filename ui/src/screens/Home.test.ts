import { cleanup, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it, vi } from "vitest";
import Home from "./Home.svelte";
import { clusters } from "../lib/clusters.svelte";
import { jobs } from "../lib/jobs.svelte";
import { HOST_METRICS_EVENT } from "../lib/ipc";
import type { HostMetrics, Target } from "../lib/bindings";

const thisComputer: Target = {
  id: "this-computer",
  name: "This computer",
  kind: "thisComputer",
  host: "laptop",
};

afterEach(async () => {
  // Unmount, and let the asynchronous unlisten finish, while the IPC mocks still exist.
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  // The job and cluster lists are shared by the whole app: each case follows them with its own
  // mocks.
  jobs.reset();
  clusters.reset();
  clearMocks();
  vi.restoreAllMocks();
});

describe("Home", () => {
  it("lists the targets from Rust and updates live figures from events", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "this_computer") return thisComputer;
        if (cmd === "list_jobs") return [];
        if (["list_clusters", "list_drafts", "list_transfers"].includes(cmd)) return [];
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(Home);
    expect(await screen.findByRole("heading", { name: "This computer" })).toBeTruthy();

    const sample: HostMetrics = {
      cpuPercent: 61.5,
      cpuCount: 4,
      memoryUsedBytes: 1024 ** 3,
      memoryTotalBytes: 8 * 1024 ** 3,
      sampledAtMs: Date.now(),
    };
    await emit(HOST_METRICS_EVENT, sample);
    await expect
      .poll(() => container.querySelector('[data-metric="cpu"]')?.textContent ?? "")
      .toMatch(/61[.,]5 %/);
  });

  it("says what to do when the targets cannot be listed", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    mockIPC(() => {
      throw new Error("backend gone");
    });
    render(Home);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("backend gone");
    expect(alert.textContent).toContain("usine doctor");
    expect(logged).toHaveBeenCalledWith("no live figures for this computer:", expect.anything());
  });

  it("shows running jobs with a small GPU curve drawn by Rust", async () => {
    const job = {
      id: "j1",
      target: "lab",
      spec: { name: "train-llm", recordGpuMetrics: true, gpusPerNode: 4 },
      state: "running",
      finished: false,
      followsUse: true,
    };
    mockIPC(
      (cmd, args) => {
        if (cmd === "this_computer") return thisComputer;
        if (cmd === "list_jobs")
          return [job, { ...job, id: "j2", state: "completed", finished: true }];
        if (cmd === "list_clusters")
          return [
            {
              settings: { name: "lab" },
              connected: false,
              certificate: null,
              profile: {
                accounts: [{ name: "ai-startup", gpuMinutesLimit: 6000, gpuMinutesUsed: 1500 }],
              },
            },
          ];
        if (cmd === "list_drafts")
          return [
            {
              id: "d1",
              target: "lab",
              spec: { name: "sweep-lr" },
              updatedAt: "",
              refusedBecause: null,
            },
          ];
        if (cmd === "list_transfers") return [];
        if (cmd === "job_sparkline" && (args as { id: string }).id === "j1")
          return '<svg data-spark="j1"></svg>';
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(Home);
    expect(await screen.findByText("train-llm")).toBeTruthy();
    // The dashboard: GPU hours left as a gauge, recent drafts.
    expect(await screen.findByText(/75 of 100 GPU hours left/)).toBeTruthy();
    expect(container.querySelector('[data-budget="ai-startup"] meter')).toBeTruthy();
    // Each cluster's state, as known: this one is not connected yet.
    expect(container.querySelector('[data-home-cluster="lab"] [data-state]')?.textContent).toBe(
      "Not connected",
    );
    expect(await screen.findByText(/sweep-lr/)).toBeTruthy();
    await expect.poll(() => container.querySelector('[data-spark="j1"]')).not.toBeNull();
    expect(container.querySelectorAll("[data-running]")).toHaveLength(1);
  });
});
