import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { emit } from "@tauri-apps/api/event";
import Updates from "./Updates.svelte";
import UpdateBanner from "./UpdateBanner.svelte";
import { UPDATE_EVENT } from "./ipc";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("Updates", () => {
  it("says how to update a copy built without the update key, and offers no check", async () => {
    mockIPC((cmd) => {
      if (cmd === "update_status") return { enabled: false, current: "0.1.0", found: null };
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Updates);
    expect(await screen.findByText("This is Usine 0.1.0.")).toBeTruthy();
    expect(screen.getByText(/does not update itself/)).toBeTruthy();
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("finds a new version, and shows why an install was refused", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "update_status") return { enabled: true, current: "0.1.0", found: null };
      if (cmd === "check_update") return { version: "0.2.0", notes: "Faster uploads." };
      if (cmd === "install_update") throw "The update was refused: its signature does not match";
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Updates);
    await fireEvent.click(await screen.findByRole("button", { name: "Check for updates" }));
    expect(await screen.findByText("Usine 0.2.0 is available.")).toBeTruthy();
    expect(screen.getByText("Faster uploads.")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Install and restart" }));
    await tick();
    expect((await screen.findByRole("alert")).textContent).toMatch(/signature does not match/);
    // Trying again starts with a new check.
    expect(screen.queryByRole("button", { name: "Install and restart" })).toBeNull();
    expect(screen.getByRole("button", { name: "Check for updates" })).toBeTruthy();
    expect(calls).toEqual(["update_status", "check_update", "install_update"]);
  });

  it("says so when this is the latest version", async () => {
    mockIPC((cmd) =>
      cmd === "update_status" ? { enabled: true, current: "0.1.0", found: null } : null,
    );
    render(Updates);
    await fireEvent.click(await screen.findByRole("button", { name: "Check for updates" }));
    expect(await screen.findByText("You have the latest version.")).toBeTruthy();
  });
});

describe("UpdateBanner", () => {
  it("says once that a newer Usine was found, and leads to Settings", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const opened: string[] = [];
    render(UpdateBanner, { onopen: () => opened.push("settings") });
    await tick();
    expect(screen.queryByRole("status")).toBeNull();
    await emit(UPDATE_EVENT, { version: "0.2.0", notes: null });
    expect((await screen.findByRole("status")).textContent).toMatch(/Usine 0.2.0 is available/);
    await fireEvent.click(screen.getByRole("button", { name: "See the update" }));
    expect(opened).toEqual(["settings"]);
    expect(screen.queryByRole("status")).toBeNull();
  });
});

describe("Updates after the check at start", () => {
  it("offers the update found at start without a new check", async () => {
    mockIPC((cmd) => {
      if (cmd === "update_status")
        return { enabled: true, current: "0.1.0", found: { version: "0.2.0", notes: null } };
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Updates);
    expect(await screen.findByText("Usine 0.2.0 is available.")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Install and restart" })).toBeTruthy();
  });
});
