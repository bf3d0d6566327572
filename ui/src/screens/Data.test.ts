import { cleanup, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import Data from "./Data.svelte";
import { TRANSFER_DONE_EVENT } from "../lib/ipc";
import type { TransferSummary } from "../lib/bindings";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const summary: TransferSummary = {
  id: "t1",
  cluster: "lab",
  direction: "up",
  localRoot: "/data/set",
  picked: 0,
  remoteRoot: "/scratch/set",
  state: "failed",
  files: 3,
  verified: 2,
  bytes: 300,
  bytesConfirmed: 200,
  createdAt: "now",
};

describe("Data", () => {
  it("lists, file by file, what an upload could not send", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "list_clusters") return [];
        if (cmd === "list_transfers") return [summary];
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(Data);
    expect(await screen.findByText("/data/set")).toBeTruthy();
    await emit(TRANSFER_DONE_EVENT, {
      id: "t1",
      report: {
        transferId: "t1",
        files: 3,
        verified: 2,
        bytesSent: 200,
        bytesSkipped: 0,
        problems: [{ path: "b/broken.bin", problem: "it changed while it was being sent" }],
      },
    });
    await expect
      .poll(() => container.querySelector('[data-problems="t1"]')?.textContent)
      .toContain("b/broken.bin: it changed while it was being sent");
  });

  it("shows an upload whose process died as interrupted, with a way to resume it", async () => {
    const resumed: string[] = [];
    mockIPC(
      (cmd, args) => {
        if (cmd === "list_clusters") return [];
        if (cmd === "list_transfers") return [{ ...summary, state: "interrupted" }];
        if (cmd === "resume_transfer") {
          resumed.push((args as { id: string }).id);
          return null;
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    render(Data);
    expect(await screen.findByText("Interrupted: resume to continue")).toBeTruthy();
    screen.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => resumed).toEqual(["t1"]);
  });

  it("suggests the chosen cluster's folder, not the one of the cluster chosen before", async () => {
    const cluster = (name: string, path: string) => ({
      settings: { name },
      connected: true,
      profile: { storage: [{ kind: "scratch", path }] },
      dataFolder: `${path}/datasets`,
    });
    mockIPC(
      (cmd) => {
        if (cmd === "list_clusters")
          return [cluster("lumi", "/scratch/ada"), cluster("vega", "/ceph/hpc/home/ada")];
        if (cmd === "list_transfers") return [];
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(Data);
    const destination = () =>
      (container.querySelector('input[name="destination"]') as HTMLInputElement).value;
    await expect.poll(destination).toBe("/scratch/ada/datasets");
    const select = container.querySelector(
      'form.upload select[name="cluster"]',
    ) as HTMLSelectElement;
    select.value = "vega";
    select.dispatchEvent(new Event("change"));
    await expect.poll(destination).toBe("/ceph/hpc/home/ada/datasets");
  });

  it("says where a folder will land before it is sent, and sends it there", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC(
      (cmd, args) => {
        calls.push({ cmd, args });
        if (cmd === "list_clusters")
          return [{ settings: { name: "lumi" }, connected: true, profile: { storage: [] } }];
        if (cmd === "list_transfers") return [];
        if (cmd === "upload_place") {
          const { source, into } = args as { source: string; into: string };
          return `${into}/${source.split("/").pop()} (from the core)`;
        }
        if (cmd === "start_upload")
          return [{ id: "t9", place: "x", problems: [], continued: null }];
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(Data);
    const type = (name: string, value: string) => {
      const input = container.querySelector(
        `form.upload input[name="${name}"]`,
      ) as HTMLInputElement;
      input.value = value;
      input.dispatchEvent(new Event("input"));
    };
    await expect.poll(() => calls.some((c) => c.cmd === "list_clusters")).toBe(true);
    type("source", "~/datasets/cats");
    type("destination", "~/datasets");
    await expect
      .poll(() => container.querySelector("form.upload [data-lands]")?.textContent)
      .toBe("It goes to ~/datasets/cats (from the core) on lumi.");
    (container.querySelector("form.upload button[type=submit]") as HTMLButtonElement).click();
    await expect
      .poll(() => calls.find((c) => c.cmd === "start_upload")?.args)
      .toMatchObject({ cluster: "lumi", sources: ["~/datasets/cats"], into: "~/datasets" });
  });
});
