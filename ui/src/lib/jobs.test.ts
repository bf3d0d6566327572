import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { jobs } from "./jobs.svelte";

afterEach(() => {
  jobs.reset();
  clearMocks();
});

describe("the shared job list", () => {
  it("is followed once for the whole app, listening before it reads the list", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "list_jobs") return [{ id: "j1" }];
      if (cmd === "plugin:event|listen") return 1;
      throw new Error(`unexpected command ${cmd}`);
    });
    // Four screens open at once.
    await Promise.all([jobs.follow(), jobs.follow(), jobs.follow(), jobs.follow()]);
    expect(calls.filter((c) => c === "plugin:event|listen")).toHaveLength(1);
    expect(calls.filter((c) => c === "list_jobs")).toHaveLength(1);
    expect(calls.indexOf("plugin:event|listen")).toBeLessThan(calls.indexOf("list_jobs"));
    expect(jobs.list.map((j) => j.id)).toEqual(["j1"]);
  });
});
