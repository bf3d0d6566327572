import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import Settings from "./Settings.svelte";
import type { Settings as Values } from "../lib/bindings";

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("Settings", () => {
  it("saves what Rust accepts and shows Rust's reason when it refuses", async () => {
    let stored: Values = { idleBelowPercent: 10, idleMinutes: 30, gpuRetentionDays: 90 };
    mockIPC((cmd, args) => {
      if (cmd === "get_settings") return stored;
      if (cmd === "update_status") return { enabled: false, current: "0.1.0", found: null };
      if (cmd === "save_settings") {
        const s = (args as { settings: Values }).settings;
        if (s.idleMinutes < 5)
          throw { message: "The idle time before a warning (minutes) must be between 5 and 1440." };
        stored = s;
        return null;
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Settings);
    const minutes = (await screen.findByLabelText(/idle for \(minutes\)/)) as HTMLInputElement;
    expect(minutes.value).toBe("30");
    await fireEvent.input(minutes, { target: { value: "2" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect((await screen.findByRole("alert")).textContent).toContain("between 5 and 1440");
    expect(stored.idleMinutes).toBe(30);
    await fireEvent.input(minutes, { target: { value: "45" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Saved.")).toBeTruthy();
    expect(stored.idleMinutes).toBe(45);
  });
});
