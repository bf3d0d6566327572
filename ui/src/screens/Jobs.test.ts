import { cleanup, render } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import Jobs from "./Jobs.svelte";
import { jobs } from "../lib/jobs.svelte";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  // The job list is shared by the whole app: each case follows it with its own mocks.
  jobs.reset();
  clearMocks();
});

describe("Jobs", () => {
  it("listens for job changes before it reads the list, so no change is missed", async () => {
    // A job on this computer changes within milliseconds of Submit, while this screen opens.
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "list_jobs") return [];
      if (cmd === "plugin:event|listen") return 1;
      if (cmd === "plugin:event|unlisten") return null;
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Jobs);
    await vi.waitFor(() => expect(calls).toContain("list_jobs"));
    expect(calls.indexOf("plugin:event|listen")).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf("plugin:event|listen")).toBeLessThan(calls.indexOf("list_jobs"));
  });

  it("offers to connect the job's cluster when its output cannot be read offline", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    let connected = false;
    const job = {
      id: "j1",
      target: "lumi",
      spec: { name: "train", gpusPerNode: 0, recordGpuMetrics: false },
      script: "",
      schedulerId: "42",
      state: "running",
      record: null,
      waitingBecause: null,
      refusedBecause: null,
      failedBecause: null,
      createdAt: "2026-12-02T10:00:00Z",
      updatedAt: "2026-12-02T10:00:00Z",
    };
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "list_jobs") return [job];
      if (cmd === "plugin:event|listen") return 1;
      if (cmd === "plugin:event|unlisten") return null;
      if (cmd === "job_logs") {
        if (connected) return { stdout: "epoch 1", stderr: "" };
        throw { kind: "offline", message: "lumi is not connected. Connect to it under Clusters." };
      }
      if (cmd === "connect_cluster") {
        connected = true;
        return {};
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const { container } = render(Jobs, { focus: "j1" });
    const connect = await vi.waitFor(() => {
      const b = container.querySelector<HTMLButtonElement>('[data-action="connect"]');
      if (!b) throw new Error("no Connect button");
      return b;
    });
    expect(connect.textContent).toBe("Connect to lumi");
    connect.click();
    await vi.waitFor(() =>
      expect(container.querySelector('[data-logs="stdout"]')?.textContent).toBe("epoch 1"),
    );
    expect(calls.find((c) => c.cmd === "connect_cluster")?.args).toEqual({ name: "lumi" });
    expect(container.querySelector('[data-action="connect"]')).toBeNull();
  });
});
