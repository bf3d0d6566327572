import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import TargetCard from "./TargetCard.svelte";
import type { HostMetrics, Target } from "./bindings";

const target: Target = {
  id: "this-computer",
  name: "This computer",
  kind: "thisComputer",
  host: "laptop",
};

describe("TargetCard", () => {
  it("says it is measuring until the first sample arrives", () => {
    render(TargetCard, { props: { target, metrics: null } });
    expect(screen.getByRole("heading", { name: "This computer" })).toBeTruthy();
    expect(screen.getByText("laptop")).toBeTruthy();
    expect(screen.getAllByText("measuring…")).toHaveLength(2);
  });

  it("shows CPU and memory from a sample", () => {
    const metrics: HostMetrics = {
      cpuPercent: 37.25,
      cpuCount: 8,
      memoryUsedBytes: 3 * 1024 ** 3,
      memoryTotalBytes: 16 * 1024 ** 3,
      sampledAtMs: Date.now(),
    };
    const { container } = render(TargetCard, { props: { target, metrics } });
    const cpu = container.querySelector('[data-metric="cpu"]')?.textContent ?? "";
    const memory = container.querySelector('[data-metric="memory"]')?.textContent ?? "";
    expect(cpu).toMatch(/37[.,]3 %/);
    expect(cpu).toContain("8 CPUs");
    expect(memory).toMatch(/3[.,]0 GiB \/ 16[.,]0 GiB/);
  });
});
