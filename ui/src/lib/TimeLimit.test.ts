import { cleanup, fireEvent, render } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import TimeLimit from "./TimeLimit.svelte";

afterEach(cleanup);

const parts = (container: HTMLElement) => ({
  value: container.querySelector('input[name="timeLimit"]') as HTMLInputElement,
  unit: container.querySelector('select[name="timeUnit"]') as HTMLSelectElement,
});

describe("TimeLimit", () => {
  it("shows ten minutes as 10 minutes, not 0.17 hours, and two hours as 2 hours", () => {
    const ten = parts(
      render(TimeLimit, { minutes: 10, label: "Time limit", onchange: () => {} }).container,
    );
    expect([ten.value.value, ten.unit.value]).toEqual(["10", "minutes"]);
    cleanup();
    const two = parts(
      render(TimeLimit, { minutes: 120, label: "Time limit", onchange: () => {} }).container,
    );
    expect([two.value.value, two.unit.value]).toEqual(["2", "hours"]);
  });

  it("turns what is typed into minutes, in the unit chosen", async () => {
    const said: number[] = [];
    const { container } = render(TimeLimit, {
      minutes: 60,
      label: "Time limit",
      onchange: (m: number) => said.push(m),
    });
    const { value, unit } = parts(container);
    await fireEvent.input(value, { target: { value: "1.5" } });
    expect(said.at(-1)).toBe(90);
    await fireEvent.change(unit, { target: { value: "minutes" } });
    await fireEvent.input(value, { target: { value: "15" } });
    expect(said.at(-1)).toBe(15);
    // Nothing usable typed yet (an empty field, zero): nothing is changed.
    await fireEvent.input(value, { target: { value: "" } });
    await fireEvent.input(value, { target: { value: "0" } });
    expect(said.at(-1)).toBe(15);
  });
});
