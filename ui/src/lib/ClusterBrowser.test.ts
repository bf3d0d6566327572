import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import ClusterBrowser from "./ClusterBrowser.svelte";
import type { ClusterEntry, FolderPage, FolderView } from "./bindings";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const entry = (name: string, kind: ClusterEntry["kind"] = "file"): ClusterEntry => ({
  name,
  shown: null,
  kind,
  size: 2048,
  modified: 1764756000,
  yours: true,
});

// A folder of 450 files, paged by the "core" below as the real one pages.
const all = Array.from({ length: 450 }, (_, i) => entry(`run-${String(i).padStart(3, "0")}.log`));
function page(view: FolderView): FolderPage {
  return {
    path: "/home/alice",
    shown: "/home/alice",
    crumbs: [
      { shown: "/", path: "/" },
      { shown: "home", path: "/home" },
      { shown: "alice", path: "/home/alice" },
    ],
    entries: all.slice(view.offset, view.offset + view.limit),
    total: all.length,
    offset: view.offset,
    hidden: 2,
    skipped: 0,
  };
}

const place = {
  kind: "home",
  path: "/home/alice",
  shown: "/home/alice",
  freeBytes: 1 << 30,
  quotaLeftBytes: null,
  quotaOwner: null,
};

describe("ClusterBrowser", () => {
  it("pages a large folder, asks before replacing a taken name and names what a delete removes", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC(
      (cmd, args) => {
        const a = (args ?? {}) as Record<string, unknown>;
        calls.push({ cmd, args: a });
        if (cmd === "cluster_places") return [place];
        if (cmd === "browse_cluster") return page(a.view as FolderView);
        if (cmd === "rename_cluster_entry")
          return a.ifTaken === "ask"
            ? { outcome: "taken", path: "/home/alice/b", shown: "/home/alice/b" }
            : { outcome: "done", path: "/home/alice/b" };
        if (cmd === "measure_cluster_path")
          return { files: 1, folders: 0, bytes: 2048, notYours: 0 };
        if (cmd === "delete_cluster_path")
          return {
            shown: "/home/alice/run-000.log",
            size: { files: 1, folders: 0, bytes: 2048, notYours: 0 },
          };
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(ClusterBrowser, {
      cluster: "lab",
      onDownload: () => {},
      onUploaded: () => {},
    });
    await fireEvent.click(await screen.findByText("Browse lab"));
    expect(await screen.findByText("1–200 of 450")).toBeTruthy();
    expect(container.querySelectorAll("tbody tr[data-entry]").length).toBe(200);
    await fireEvent.click(screen.getByText("Next"));
    expect(await screen.findByText("201–400 of 450")).toBeTruthy();
    // Paging reuses the listing: only the first look listed the folder.
    expect(calls.filter((c) => c.cmd === "browse_cluster").map((c) => c.args.fresh)).toEqual([
      true,
      false,
    ]);

    const row = container.querySelector('[data-entry="run-200.log"]')!;
    await fireEvent.click(row.querySelector('[data-action="rename"]')!);
    const input = row.querySelector<HTMLInputElement>('input[name="newName"]')!;
    await fireEvent.input(input, { target: { value: "b" } });
    await fireEvent.submit(input.form!);
    expect(await screen.findByText("/home/alice/b already exists.", { exact: false })).toBeTruthy();
    await fireEvent.click(screen.getByText("Replace it"));
    await expect
      .poll(() => calls.filter((c) => c.cmd === "rename_cluster_entry").map((c) => c.args.ifTaken))
      .toEqual(["ask", "replace"]);

    const first = container.querySelector('[data-entry="run-200.log"]')!;
    await fireEvent.click(first.querySelector('[data-action="delete"]')!);
    const confirm = await screen.findByRole("alertdialog");
    expect(confirm.textContent).toContain("run-200.log");
    expect(confirm.textContent).toContain("1 files");
    expect(calls.some((c) => c.cmd === "delete_cluster_path")).toBe(false);
    await fireEvent.click(confirm.querySelector("button.danger")!);
    await expect.poll(() => calls.some((c) => c.cmd === "delete_cluster_path")).toBe(true);
  });

  it("says the cluster is offline and tries again when asked", async () => {
    let reachable = false;
    mockIPC(
      (cmd, args) => {
        if (cmd === "cluster_places") {
          if (!reachable) throw { kind: "offline", message: "the link dropped" };
          return [place];
        }
        if (cmd === "browse_cluster") return page((args as { view: FolderView }).view);
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(ClusterBrowser, {
      cluster: "lab",
      onDownload: () => {},
      onUploaded: () => {},
    });
    await fireEvent.click(await screen.findByText("Browse lab"));
    await expect.poll(() => container.querySelector("[data-offline]")).toBeTruthy();
    reachable = true;
    await fireEvent.click(screen.getByText("Try again"));
    expect(await screen.findByText("1–200 of 450")).toBeTruthy();
    expect(container.querySelector("[data-offline]")).toBeNull();
  });
});
