import { cleanup, render } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import Jobs from "./Jobs.svelte";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
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
});
