import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import IdleBanner from "./IdleBanner.svelte";
import { IDLE_EVENT, JOB_EVENT } from "./ipc";

afterEach(async () => {
  // Unmount, and let the asynchronous unlisten finish, while the IPC mocks still exist.
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const idle = { id: "j1", name: "train-llm", gpus: 4, below: 10, minutes: 30 };

describe("IdleBanner", () => {
  it("offers to cancel an idle job, and cancels exactly that one", async () => {
    const cancelled: string[] = [];
    mockIPC(
      (cmd, args) => {
        if (cmd === "cancel_job") return void cancelled.push((args as { id: string }).id);
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    render(IdleBanner, { onopen: () => {} });
    await new Promise((r) => setTimeout(r, 0));
    await emit(IDLE_EVENT, idle);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/train-llm is not using its GPUs/);
    expect(alert.textContent).toMatch(/4 GPU\(s\) have been under 10 % busy for 30 minutes/);
    await fireEvent.click(screen.getByRole("button", { name: "Cancel the job" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(cancelled).toEqual(["j1"]);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("opens the job, and goes away by itself when the job ends", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const opened: string[] = [];
    render(IdleBanner, { onopen: (id: string) => opened.push(id) });
    await new Promise((r) => setTimeout(r, 0));
    await emit(IDLE_EVENT, idle);
    await fireEvent.click(await screen.findByRole("button", { name: "Look at the job" }));
    expect(opened).toEqual(["j1"]);
    expect(screen.queryByRole("alert")).toBeNull();
    await emit(IDLE_EVENT, { ...idle, id: "j2", name: "sweep" });
    await screen.findByRole("alert");
    await emit(JOB_EVENT, { id: "j2", state: "cancelled", finished: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
