import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import AddClusterForm from "./AddClusterForm.svelte";

afterEach(() => cleanup());

describe("AddClusterForm", () => {
  it("names the cluster from its login host when the name is left empty, with a hint", async () => {
    render(AddClusterForm, { props: { sites: [], onadd: async () => {} } });
    const name = screen.getByLabelText("Name in Usine") as HTMLInputElement;
    expect(name.getAttribute("aria-describedby")).toBe("add-name-hint");
    const host = screen.getByLabelText("Login host");
    await fireEvent.input(host, { target: { value: "login.lumi.csc.fi" } });
    await fireEvent.change(host);
    expect(name.value).toBe("lumi");
    // A name the user typed stays.
    await fireEvent.input(name, { target: { value: "my-lumi" } });
    await fireEvent.input(host, { target: { value: "vega.izum.si" } });
    await fireEvent.change(host);
    expect(name.value).toBe("my-lumi");
  });
});
