import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import FirstJob from "./FirstJob.svelte";
import type { DraftView, JobSpec } from "../lib/bindings";

afterEach(async () => {
  // Unmount, and let the asynchronous unlisten finish, while the IPC mocks still exist.
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const spec = {
  name: "first-gpu-job",
  gpusPerNode: 1,
  timeLimitMinutes: 10,
  partition: "gpu",
  account: "ai-startup",
  inputs: [],
  environment: { modules: [], python: null, container: null, variables: [] },
} as unknown as JobSpec;

function view(s: JobSpec, gpuHoursLeft = 87.4): DraftView {
  return {
    draft: { id: "d1", target: "lab", spec: s },
    problems: [],
    cost: {
      gpuHours: (s.gpusPerNode * s.timeLimitMinutes) / 60,
      billed: null,
      billingUnit: null,
      gpuHoursLeft,
    },
    script: "#!/bin/bash",
    scriptError: null,
  } as unknown as DraftView;
}

describe("the first-job guide", () => {
  it("says why Next and Send cannot be used yet, then sends to the cluster's scratch", async () => {
    const uploads: unknown[] = [];
    mockIPC(
      (cmd, args) => {
        const a = args as Record<string, string>;
        switch (cmd) {
          case "list_clusters":
            return [{ settings: { name: "lab" }, dataFolder: "/scratch/ann/datasets" }];
          case "upload_place":
            return `${a.into}/${a.source.split("/").pop()}`;
          case "start_upload":
            uploads.push(args);
            return [
              { id: "t1", place: "/scratch/ann/datasets/cats", problems: [], continued: null },
            ];
          case "list_templates":
            return [{ id: "first-gpu-job", title: "My first job", summary: "GPUs", help: {} }];
          case "first_job_template":
            return "first-gpu-job";
          case "create_draft":
            return view(spec);
          case "save_draft":
            return view((args as Record<string, unknown>).spec as JobSpec);
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(FirstJob, { props: { target: "lab", onsubmitted: () => {} } });
    await screen.findByLabelText(/My first job/);
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await fireEvent.click(await screen.findByLabelText("Yes: send a folder"));
    const next = screen.getByRole("button", { name: "Next" }) as HTMLButtonElement;
    const send = screen.getByRole("button", { name: "Send it" }) as HTMLButtonElement;
    expect([next.disabled, send.disabled]).toEqual([true, true]);
    expect(screen.getByText("Choose the folder to send first.")).toBeTruthy();
    expect(
      screen.getByText("Send the data first (or answer that the job needs none)."),
    ).toBeTruthy();
    // The data goes to the cluster's scratch (the core's suggestion), not the home folder.
    await fireEvent.input(screen.getByLabelText("Folder on this computer"), {
      target: { value: "~/cats" },
    });
    expect(await screen.findByText(/It goes to \/scratch\/ann\/datasets\/cats/)).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Send it" }));
    await vi.waitFor(() =>
      expect(uploads).toEqual([
        { cluster: "lab", sources: ["~/cats"], into: "/scratch/ann/datasets", byChecksum: false },
      ]),
    );
  });

  it("takes data already on the cluster, shows the cost against the hours left, and sends", async () => {
    const saved: JobSpec[] = [];
    let sent: string | null = null;
    mockIPC(
      (cmd, args) => {
        const a = args as Record<string, unknown>;
        switch (cmd) {
          case "list_clusters":
            return [];
          case "list_templates":
            return [{ id: "first-gpu-job", title: "My first job", summary: "GPUs", help: {} }];
          case "first_job_template":
            return "first-gpu-job";
          case "create_draft":
            return view(spec);
          case "save_draft":
            saved.push(a.spec as JobSpec);
            return view(a.spec as JobSpec);
          case "submit_draft":
            sent = a.id as string;
            return { id: "job-1" };
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    let landed: string | null = null;
    // `props:` spelled out: `target` alone would be taken for Svelte's mount target.
    render(FirstJob, { props: { target: "lab", onsubmitted: (id: string) => (landed = id) } });
    await screen.findByLabelText(/My first job/);
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await fireEvent.click(await screen.findByLabelText("It is already on the cluster"));
    await fireEvent.input(screen.getByLabelText("Its folder on the cluster"), {
      target: { value: "~/datasets/cifar" },
    });
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("Ready to send.")).toBeTruthy();
    expect(saved.at(-1)?.inputs).toEqual(["~/datasets/cifar"]);
    expect(saved.at(-1)?.environment.variables).toContainEqual({
      name: "DATA",
      value: "~/datasets/cifar",
    });
    expect(screen.getByText(/Up to 0\.17/).textContent).toMatch(/87\.4 left in ai-startup/);
    // Two GPUs: the cost follows (2 × 10 minutes).
    await fireEvent.input(screen.getByLabelText("GPUs"), { target: { value: "2" } });
    await fireEvent.change(screen.getByLabelText("GPUs"));
    await screen.findByText(/Up to 0\.33/);
    expect(saved.at(-1)?.gpusPerNode).toBe(2);
    await fireEvent.click(screen.getByRole("button", { name: "Send the job" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toBe("d1");
    expect(landed).toBe("job-1");
  });

  it("offers this computer a first job it can run when it has no GPU", async () => {
    const created: string[] = [];
    mockIPC(
      (cmd, args) => {
        const a = args as Record<string, unknown>;
        switch (cmd) {
          case "list_templates":
            return [
              { id: "first-gpu-job", title: "Meet the GPUs", summary: "GPUs", help: {} },
              { id: "first-cpu-job", title: "Meet the processors", summary: "CPUs", help: {} },
            ];
          case "first_job_template":
            return a.target === "this-computer" ? "first-cpu-job" : "first-gpu-job";
          case "create_draft":
            created.push(a.template as string);
            return view({ ...spec, gpusPerNode: 0, partition: null, account: null });
          case "save_draft":
            return view(a.spec as JobSpec);
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(FirstJob, { props: { target: "this-computer", onsubmitted: () => {} } });
    const cpu = (await screen.findByLabelText(/Meet the processors/)) as HTMLInputElement;
    await vi.waitFor(() => expect(cpu.checked).toBe(true));
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await vi.waitFor(() => expect(created).toEqual(["first-cpu-job"]));
    expect(await screen.findByText(/Runs on this computer/)).toBeTruthy();
    expect(document.body.textContent).not.toContain("—");
  });
});
