import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import Term from "./Term.svelte";
import { setExpertView } from "./expert";

afterEach(() => {
  cleanup();
  localStorage.clear();
});

describe("Term", () => {
  it("says the word plainly and explains it on focus, described for screen readers", async () => {
    render(Term, { word: "partition" });
    const word = screen.getByRole("button", { name: "Kinds of machines" });
    const help = screen.getByRole("tooltip", { hidden: true });
    expect(word.getAttribute("aria-describedby")).toBe(help.id);
    expect(help.textContent).toMatch(/Slurm calls a group a partition/);
    expect(help.classList.contains("open")).toBe(false);
    await fireEvent.focus(word);
    expect(help.classList.contains("open")).toBe(true);
    await fireEvent.keyDown(word, { key: "Escape" });
    expect(help.classList.contains("open")).toBe(false);
    expect(word.textContent).not.toMatch(/Slurm/);
  });

  it("adds Slurm's own word in the expert view", () => {
    setExpertView(true);
    render(Term, { word: "account" });
    expect(screen.getByRole("button").textContent).toMatch(/Projects\s*\(Slurm: account\)/);
  });
});
