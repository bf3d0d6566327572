import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import Updates from "./Updates.svelte";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("Updates", () => {
  it("says how to update a copy built without the update key, and offers no check", async () => {
    mockIPC((cmd) => {
      if (cmd === "update_status") return { enabled: false, current: "0.1.0" };
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
      if (cmd === "update_status") return { enabled: true, current: "0.1.0" };
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
    mockIPC((cmd) => (cmd === "update_status" ? { enabled: true, current: "0.1.0" } : null));
    render(Updates);
    await fireEvent.click(await screen.findByRole("button", { name: "Check for updates" }));
    expect(await screen.findByText("You have the latest version.")).toBeTruthy();
  });
});
