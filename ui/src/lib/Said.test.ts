import { render } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import Said from "./Said.svelte";

describe("Said", () => {
  it("shows names marked with backticks as code, never the backticks", () => {
    const { container } = render(Said, {
      props: { text: "A node of `gpu` has 4 GPUs. Choose `a100`, or leave it empty." },
    });
    expect(container.textContent).toBe("A node of gpu has 4 GPUs. Choose a100, or leave it empty.");
    expect([...container.querySelectorAll("code")].map((c) => c.textContent)).toEqual([
      "gpu",
      "a100",
    ]);
  });
});
