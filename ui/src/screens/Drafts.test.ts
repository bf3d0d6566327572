import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import Drafts from "./Drafts.svelte";
import type { DraftView, JobSpec, Template } from "../lib/bindings";

const spec: JobSpec = {
  version: 1,
  name: "preprocess",
  account: null,
  partition: null,
  nodes: 1,
  tasksPerNode: 1,
  cpusPerTask: 8,
  gpusPerNode: 0,
  gpuType: null,
  memoryMib: null,
  timeLimitMinutes: 60,
  workingDir: "~",
  environment: { modules: [], container: null, python: null, variables: [] },
  commands: "python preprocess.py\n",
  array: null,
  inputs: [],
  outputs: [],
  notify: { onStart: true, onEnd: true, onFailure: true, email: null },
  recordGpuMetrics: false,
  extraDirectives: [],
};

const template: Template = {
  id: "cpu-preprocessing",
  title: "Prepare data on CPUs",
  summary: "Cleaning a dataset.",
  help: { cpusPerTask: "Cores your program uses." },
  spec,
};

function view(
  s: JobSpec,
  problems: DraftView["problems"] = [],
  refusedBecause: string | null = null,
): DraftView {
  return {
    draft: {
      id: "d1",
      target: "lab",
      template: "cpu-preprocessing",
      spec: s,
      updatedAt: "now",
      refusedBecause,
    },
    problems,
    cost: {
      gpuHours: s.gpusPerNode * (s.timeLimitMinutes / 60),
      billed: null,
      billingUnit: null,
      gpuHoursLeft: 87.4,
    },
    script: "#!/bin/bash\n",
    scriptError: null,
  };
}

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
  vi.restoreAllMocks();
});

describe("Drafts", () => {
  it("opens the job just sent, by its id, not an older one with the same name", async () => {
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "list_templates":
          case "list_clusters":
            return [];
          case "list_drafts":
            return [view(spec).draft];
          case "open_draft":
          case "save_draft":
            return view(spec);
          case "submit_draft":
            return { id: "job-just-sent" };
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    const opened: string[] = [];
    render(Drafts, { onsubmitted: (id: string) => opened.push(id) });
    await fireEvent.click(await screen.findByRole("button", { name: "Open" }));
    await fireEvent.click(await screen.findByRole("button", { name: /Queue|Send/ }));
    await vi.waitFor(() => expect(opened).toEqual(["job-just-sent"]));
  });

  it("says why the cluster refused the draft's last job when it is opened again", async () => {
    const refusal = "Slurm refused the job. (Slurm said: Invalid feature specification)";
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "list_templates":
          case "list_clusters":
            return [];
          case "list_drafts":
            return [view(spec, [], refusal).draft];
          case "open_draft":
            return view(spec, [], refusal);
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(Drafts, { onsubmitted: () => {} });
    await fireEvent.click(await screen.findByRole("button", { name: "Open" }));
    expect(
      await screen.findByText(`The last time this was sent, the cluster refused it: ${refusal}`),
    ).toBeTruthy();
  });

  it("opens a template as a draft, saves every edit and shows the checks from Rust", async () => {
    const saved: JobSpec[] = [];
    mockIPC(
      (cmd, args) => {
        const a = args as Record<string, unknown>;
        switch (cmd) {
          case "list_templates":
            return [template];
          case "list_clusters":
            return [];
          case "list_drafts":
            return [];
          case "create_draft":
            return view(spec);
          case "save_draft": {
            const s = a.spec as JobSpec;
            saved.push(s);
            return view(
              s,
              s.gpusPerNode > 4
                ? [
                    {
                      field: "gpusPerNode",
                      severity: "blocker",
                      message: "A node of `gpu` has 4 GPUs.",
                    },
                  ]
                : [],
            );
          }
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(Drafts, { onsubmitted: () => {} });
    await fireEvent.click(await screen.findByRole("button", { name: "Use this" }));
    expect(await screen.findByRole("heading", { name: "preprocess" })).toBeTruthy();
    expect(screen.getByText("Ready to send.")).toBeTruthy();
    const gpus = screen.getByLabelText("GPUs per node");
    await fireEvent.input(gpus, { target: { value: "8" } });
    await vi.waitFor(() => expect(saved.at(-1)?.gpusPerNode).toBe(8), { timeout: 2000 });
    // The message is shown with the partition's name as code, never with raw backticks.
    await vi.waitFor(() =>
      expect(
        [...document.querySelectorAll(".problem")].map((e) => e.textContent?.trim()),
      ).toContain("A node of gpu has 4 GPUs."),
    );
    // Said once, next to the field, not again in the summary.
    expect(document.body.textContent?.split("A node of gpu has 4 GPUs.").length).toBe(2);
    expect(document.querySelector("[data-at-fields]")?.textContent).toContain("(1)");
    const submit = screen.getByRole("button", { name: /Queue/ });
    expect((submit as HTMLButtonElement).disabled).toBe(true);

    // A list typed as text keeps what the user is typing (here a trailing comma).
    const modules = screen.getByLabelText("Modules to load (comma-separated)") as HTMLInputElement;
    await fireEvent.input(modules, { target: { value: "cuda/12, " } });
    await vi.waitFor(() => expect(saved.at(-1)?.environment.modules).toEqual(["cuda/12"]), {
      timeout: 2000,
    });
    expect(modules.value).toBe("cuda/12, ");
  });

  it("imports every script opened with Usine as a draft, keeps the last open, says which failed", async () => {
    const imported: string[] = [];
    mockIPC(
      (cmd, args) => {
        const a = args as Record<string, unknown>;
        switch (cmd) {
          case "list_templates":
          case "list_clusters":
          case "list_drafts":
            return [];
          case "create_draft": {
            const text = a.script as string;
            imported.push(text);
            const name = text.match(/job-name=(\S+)/)?.[1] ?? "?";
            const v = view({ ...spec, name });
            return { ...v, draft: { ...v.draft, id: name } };
          }
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    const script = (name: string) => `#!/bin/bash\n#SBATCH --job-name=${name}\n`;
    render(Drafts, {
      onsubmitted: () => {},
      incoming: [
        { path: "/home/a/first.sbatch", text: script("first"), error: null },
        { path: "/home/a/huge.sbatch", text: null, error: "Usine cannot open huge.sbatch." },
        { path: "/home/a/second.sbatch", text: script("second"), error: null },
      ],
    });
    await vi.waitFor(() => expect(imported).toEqual([script("first"), script("second")]));
    expect(await screen.findByRole("heading", { name: "second" })).toBeTruthy();
    expect(screen.getByText("Usine cannot open huge.sbatch.")).toBeTruthy();
  });

  it("imports the scripts it was given even when a second hand-over follows at once", async () => {
    // Two scripts opened together arrive as two hand-overs; the second replaced the list
    // while the first screen still waited for the clusters, and one script was lost.
    const imported: string[] = [];
    let clustersReady: (v: unknown[]) => void = () => {};
    const clusters = new Promise<unknown[]>((resolve) => (clustersReady = resolve));
    mockIPC(
      async (cmd, args) => {
        const a = args as Record<string, unknown>;
        switch (cmd) {
          case "list_templates":
          case "list_drafts":
            return [];
          case "list_clusters":
            return clusters;
          case "create_draft": {
            imported.push(a.script as string);
            return view(spec);
          }
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    const opened = (name: string) => ({ path: `/home/a/${name}.sbatch`, text: name, error: null });
    const { rerender } = render(Drafts, { onsubmitted: () => {}, incoming: [opened("first")] });
    await rerender({ onsubmitted: () => {}, incoming: [opened("second")] });
    clustersReady([]);
    await vi.waitFor(() => expect(imported).toEqual(["first"]));
  });
  it("turns chosen folders into input data sent to the cluster, and lets one be removed", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    let current = spec;
    mockIPC(
      (cmd, args) => {
        calls.push({ cmd, args });
        switch (cmd) {
          case "list_templates":
          case "list_clusters":
            return [];
          case "list_drafts":
            return [view(spec).draft];
          case "open_draft":
            return view(spec);
          case "save_draft":
            current = (args as { spec: JobSpec }).spec;
            return view(current);
          case "pick_paths":
            return ["/home/ada/cats"];
          case "attach_inputs":
            current = { ...current, inputs: ["/scratch/p1/datasets/cats"] };
            return {
              view: view(current),
              uploads: [
                { id: "u1", place: "/scratch/p1/datasets/cats", problems: [], continued: null },
              ],
            };
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(Drafts, { onsubmitted: () => {} });
    await fireEvent.click(await screen.findByRole("button", { name: "Open" }));
    await fireEvent.click(await screen.findByRole("button", { name: "Choose a folder…" }));
    expect(await screen.findByText("/scratch/p1/datasets/cats")).toBeTruthy();
    expect(screen.getByText("being sent (see Data)")).toBeTruthy();
    const order = calls
      .map((c) => c.cmd)
      .filter((c) => c === "save_draft" || c === "attach_inputs");
    expect(order.slice(-2)).toEqual(["save_draft", "attach_inputs"]);
    expect(calls.find((c) => c.cmd === "attach_inputs")?.args).toEqual({
      id: "d1",
      paths: ["/home/ada/cats"],
    });
    await fireEvent.click(
      screen.getByRole("button", { name: "Remove /scratch/p1/datasets/cats from the input data" }),
    );
    await vi.waitFor(() => expect(current.inputs).toEqual([]));
  });
});
