import { cleanup, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import TransferList from "./TransferList.svelte";
import type { TransferFile, TransferSummary } from "./bindings";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const download: TransferSummary = {
  id: "d1",
  cluster: "lumi",
  direction: "down",
  localRoot: "/home/ada/results",
  picked: 0,
  remoteRoot: "~/runs/42",
  state: "running",
  files: 3,
  verified: 1,
  bytes: 3000,
  bytesConfirmed: 1000,
  createdAt: "now",
};

const file = (path: string, state: TransferFile["state"], problem: string | null = null) => ({
  path,
  size: 1000,
  done: state === "verified" ? 1000 : 0,
  state,
  problem,
});

describe("TransferList", () => {
  it("says how many items of a folder an upload of picked or dropped items holds", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "list_transfers")
          return [{ ...download, direction: "up", localRoot: "/home/ada/photos", picked: 100000 }];
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(TransferList);
    expect(await screen.findByText("/home/ada/photos")).toBeTruthy();
    const row = container.querySelector('[data-transfer="d1"]') as HTMLElement;
    expect(row.textContent).toMatch(/100000 items chosen in it\)\s*→ lumi:~\/runs\/42/);
  });

  it("shows a download running with its progress, and pauses it", async () => {
    const calls: string[] = [];
    let state: TransferSummary["state"] = "running";
    mockIPC(
      (cmd) => {
        calls.push(cmd);
        if (cmd === "list_transfers") return [{ ...download, state }];
        if (cmd === "pause_transfer") {
          state = "paused";
          return null;
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(TransferList);
    expect(await screen.findByText("/home/ada/results")).toBeTruthy();
    const row = () => container.querySelector('[data-transfer="d1"]') as HTMLElement;
    expect(row().textContent).toContain("lumi:~/runs/42 →");
    expect(row().dataset.direction).toBe("down");
    await emit("download-progress", {
      id: "d1",
      progress: { bytesDone: 1500, bytesTotal: 3000, filesDone: 1, filesTotal: 3, current: "a" },
    });
    await expect.poll(() => row().dataset.state).toBe("sending");
    screen.getByRole("button", { name: "Pause" }).click();
    await expect.poll(() => row().dataset.state).toBe("paused");
    expect(calls).toContain("pause_transfer");
    // A progress event already on its way does not bring the bar back.
    await emit("download-progress", {
      id: "d1",
      progress: { bytesDone: 1600, bytesTotal: 3000, filesDone: 1, filesTotal: 3, current: "a" },
    });
    expect(row().dataset.state).toBe("paused");
    expect(screen.getByRole("button", { name: "Resume" })).toBeTruthy();
  });

  it("asks before cancelling, and says what deleting what was sent removed", async () => {
    const cancels: unknown[] = [];
    let state: TransferSummary["state"] = "interrupted";
    mockIPC(
      (cmd, args) => {
        if (cmd === "list_transfers") return [{ ...download, direction: "up", state }];
        if (cmd === "cancel_transfer") {
          cancels.push(args);
          state = "cancelled";
          return { id: "d1", deleted: 2, bytesDeleted: 2048, problems: [] };
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(TransferList);
    (await screen.findByRole("button", { name: "Cancel…" })).click();
    expect(await screen.findByText("Stop this transfer for good?")).toBeTruthy();
    expect(cancels).toEqual([]);
    screen.getByRole("button", { name: "Stop and delete what it sent" }).click();
    await expect
      .poll(() => container.querySelector("[data-cancelled]")?.textContent)
      .toContain("the 2 files it wrote were deleted (2.0 KiB)");
    expect(cancels).toEqual([{ id: "d1", deleteSent: true }]);
    await expect
      .poll(() => (container.querySelector('[data-transfer="d1"]') as HTMLElement).dataset.state)
      .toBe("cancelled");
    expect(screen.queryByRole("button", { name: "Resume" })).toBeNull();
  });

  it("lists a transfer's files, problems first, a page at a time", async () => {
    const pages: unknown[] = [];
    const all = [
      file("42/broken.bin", "problem", "cannot be written here: disk full"),
      ...Array.from({ length: 150 }, (_, i) => file(`42/log-${i}.txt`, "verified")),
    ];
    mockIPC(
      (cmd, args) => {
        if (cmd === "list_transfers") return [{ ...download, state: "failed", files: 151 }];
        if (cmd === "transfer_files") {
          const { offset, limit } = args as { offset: number; limit: number };
          pages.push(args);
          return { total: all.length, problems: 1, files: all.slice(offset, offset + limit) };
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(TransferList);
    (await screen.findByRole("button", { name: "Files" })).click();
    const rows = () => container.querySelectorAll("[data-files] tr");
    await expect.poll(() => rows().length).toBe(100);
    expect(rows()[0].textContent).toContain("cannot be written here: disk full");
    expect(rows()[1].textContent).toContain("Verified");
    expect(container.textContent).toContain("1 files with a problem");
    screen.getByRole("button", { name: "Show more (51 left)" }).click();
    await expect.poll(() => rows().length).toBe(151);
    expect(pages).toEqual([
      { id: "d1", offset: 0, limit: 100 },
      { id: "d1", offset: 100, limit: 100 },
    ]);
    expect(screen.queryByRole("button", { name: /Show more/ })).toBeNull();
  });
});
