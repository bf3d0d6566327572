import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import GpuChart from "./GpuChart.svelte";
import type { GpuSummary } from "./bindings";

afterEach(async () => {
  cleanup();
  // Let the chart's event listener finish unregistering before the mocks go.
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

const summary = (more: Partial<GpuSummary>): GpuSummary => ({
  gpus: 0,
  samples: 0,
  meanUtilization: null,
  gpuHours: 0,
  idleGpuHours: 0,
  lastSampleMs: null,
  cpuSamples: 0,
  meanCpuPercent: null,
  noGpuTool: false,
  ...more,
});

describe("GpuChart", () => {
  it("says the machine has no GPU tool instead of waiting for samples for ever", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "job_chart") return "<svg></svg>";
        if (cmd === "job_gpu_summary") return summary({ noGpuTool: true });
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(GpuChart, { id: "j" });
    await expect
      .poll(() => container.querySelector("[data-no-gpu-tool]")?.textContent)
      .toContain("no GPU tool");
    expect(container.textContent).not.toContain("No samples yet");
  });

  it("asks where to save before writing, and writes exactly there", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC(
      (cmd, args) => {
        calls.push({ cmd, args });
        if (cmd === "job_chart") return "<svg></svg>";
        if (cmd === "job_gpu_summary") return summary({ gpus: 1, samples: 4, meanUtilization: 50 });
        if (cmd === "suggest_export_path") return "/home/ann/Downloads/run-42-gpu.png";
        if (cmd === "export_chart") return "/home/ann/charts/run.png";
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const { container } = render(GpuChart, { id: "j" });
    await fireEvent.click(await screen.findByRole("button", { name: "Save as PNG" }));
    const where = (await screen.findByLabelText("Save it as")) as HTMLInputElement;
    expect(where.value).toBe("/home/ann/Downloads/run-42-gpu.png");
    expect(calls.some((c) => c.cmd === "export_chart")).toBe(false);
    await fireEvent.input(where, { target: { value: "~/charts/run.png" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await expect
      .poll(() => calls.find((c) => c.cmd === "export_chart")?.args)
      .toEqual({ id: "j", format: "png", path: "~/charts/run.png" });
    await expect
      .poll(() => container.querySelector("[data-saved]")?.textContent)
      .toBe("Saved to /home/ann/charts/run.png");
  });
});
