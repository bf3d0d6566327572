import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import Sessions from "./Sessions.svelte";
import type { JobEntry, SessionKind, SessionRequest, SessionView } from "../lib/bindings";
import { clusters } from "../lib/clusters.svelte";

afterEach(async () => {
  cleanup();
  // Let the listeners finish unregistering before the mocks go.
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
  clusters.reset();
});

const spec = (minutes: number) =>
  ({ timeLimitMinutes: minutes, gpusPerNode: 0 }) as unknown as SessionKind["spec"];
const kinds: SessionKind[] = [
  { id: "jupyterlab", title: "JupyterLab", summary: "Notebooks", asks: null, spec: spec(120) },
  { id: "tensorboard", title: "TensorBoard", summary: "Curves", asks: "folder", spec: spec(60) },
];

function session(over: Partial<SessionView>, job: Partial<JobEntry>): SessionView {
  return {
    id: "s1",
    kind: "jupyterlab",
    title: "JupyterLab",
    target: "lab",
    ready: false,
    place: { ahead: 3, expectedStart: "2026-12-03T14:30:00" },
    minutesLeft: null,
    gpus: 0,
    gpuHours: 0,
    forward: null,
    job: {
      id: "s1",
      schedulerId: null,
      state: "pending",
      finished: false,
      waitingBecause: "the GPUs are busy",
      ...job,
    } as JobEntry,
    ...over,
  };
}

describe("Sessions", () => {
  it("costs a session before it starts, asks TensorBoard for its folder, and sends what was chosen", async () => {
    const started: SessionRequest[] = [];
    mockIPC(
      (cmd, args) => {
        const a = args as { request: SessionRequest };
        if (cmd === "session_kinds") return kinds;
        if (cmd === "list_clusters") return [{ settings: { name: "lab" } }];
        if (cmd === "list_sessions") return [];
        if (cmd === "list_forwards") return [];
        if (cmd === "plan_session") {
          if (a.request.kind === "tensorboard" && !a.request.folder)
            throw { kind: "invalid", message: "TensorBoard needs the folder of your event files." };
          return {
            spec: {},
            problems: [],
            cost: {
              gpuHours: a.request.gpus! * 2,
              billed: null,
              billingUnit: null,
              gpuHoursLeft: null,
            },
          };
        }
        if (cmd === "start_session") {
          started.push(a.request);
          return session({}, {});
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    render(Sessions);
    await screen.findByText("JupyterLab");
    await fireEvent.change(await screen.findByLabelText("Where"), { target: { value: "lab" } });
    await fireEvent.input(screen.getByLabelText("GPUs"), { target: { value: "2" } });
    expect((await screen.findByText("Costs at most 4.00 GPU hours.")).textContent).toBeTruthy();
    await fireEvent.click(screen.getByLabelText(/TensorBoard/));
    expect(
      await screen.findByText("TensorBoard needs the folder of your event files."),
    ).toBeTruthy();
    expect((screen.getByRole("button", { name: "Start" }) as HTMLButtonElement).disabled).toBe(
      true,
    );
    await fireEvent.input(screen.getByLabelText("Folder of your event files"), {
      target: { value: "~/runs" },
    });
    await waitFor(() =>
      expect((screen.getByRole("button", { name: "Start" }) as HTMLButtonElement).disabled).toBe(
        false,
      ),
    );
    await fireEvent.click(screen.getByRole("button", { name: "Start" }));
    await waitFor(() => expect(started).toHaveLength(1));
    expect(started[0]).toMatchObject({
      kind: "tensorboard",
      target: "lab",
      gpus: 2,
      folder: "~/runs",
    });
  });

  it("says why a session waits, opens a ready one, and reports what stopping cost", async () => {
    let list = [session({}, {})];
    const opened: string[] = [];
    mockIPC(
      (cmd, args) => {
        const a = args as { id: string };
        if (cmd === "session_kinds") return kinds;
        if (cmd === "list_clusters") return [];
        if (cmd === "list_sessions") return list;
        if (cmd === "list_forwards") return [];
        if (cmd === "plan_session")
          return {
            spec: {},
            problems: [],
            cost: { gpuHours: 0, billed: null, billingUnit: null, gpuHoursLeft: null },
          };
        if (cmd === "open_session") {
          opened.push(a.id);
          return list[0];
        }
        if (cmd === "stop_session") return { gpuHours: 0.25 };
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { unmount } = render(Sessions);
    expect(await screen.findByText("Waiting: the GPUs are busy")).toBeTruthy();
    expect(screen.getByText(/3 jobs ahead of it in its queue/).textContent).toContain(
      "Slurm expects it to start around 2026-12-03 14:30",
    );
    expect((screen.getByRole("button", { name: "Open" }) as HTMLButtonElement).disabled).toBe(true);
    unmount();

    list = [
      session(
        {
          ready: true,
          minutesLeft: 42,
          gpuHours: 0.25,
          place: null,
          forward: {
            id: "s1",
            cluster: "lab",
            job: "77",
            node: "gpu-1",
            port: 41000,
            localPort: 50123,
            route: { kind: "relay", program: "socat" },
          },
        },
        { state: "running", schedulerId: "77", waitingBecause: null },
      ),
    ];
    render(Sessions);
    expect(await screen.findByText("Ready: 42 min left")).toBeTruthy();
    expect(screen.getByText(/reached through the job itself \(socat\)/)).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Open" }));
    await waitFor(() => expect(opened).toEqual(["s1"]));
    await fireEvent.click(screen.getByRole("button", { name: "Stop" }));
    expect(await screen.findByText("Stopped. It used 0.25 GPU hours.")).toBeTruthy();
  });
});
