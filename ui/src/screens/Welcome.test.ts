import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import Welcome from "./Welcome.svelte";
import type { ClusterSettings, Guide, Site } from "../lib/bindings";

afterEach(() => {
  cleanup();
  clearMocks();
  localStorage.clear();
});

const lumi = {
  id: "lumi",
  name: "LUMI",
  operator: "CSC (Kajaani, Finland)",
  hosts: ["lumi.csc.fi"],
  port: 22,
  login: "key",
  keyPortal: "https://mms.myaccessid.org/",
  keyInstructions: "Add your public key to your MyAccessID profile. It takes a couple of hours.",
  unconfirmed: [],
} as unknown as Site;

/** The core's side of the guide: what it saved, and the cluster it was asked to add. */
function core() {
  const saved: Guide[] = [];
  const added: { place: unknown; user: string; login: ClusterSettings["login"] }[] = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    switch (cmd) {
      case "list_sites":
        return [lumi];
      case "list_clusters":
        return added.map((c) => ({
          settings: { name: "lumi", site: "lumi", user: c.user, login: c.login },
          profile: null,
          connected: false,
          certificate: null,
        }));
      case "save_guide":
        saved.push(a.guide as Guide);
        return null;
      case "generate_key":
        return {
          privatePath: "/home/ada/.ssh/id_ed25519",
          publicPath: "/home/ada/.ssh/id_ed25519.pub",
          publicOpenssh: "ssh-ed25519 AAAAC3Nza ada@usine",
          fingerprint: "SHA256:x",
          passphraseInKeychain: true,
        };
      case "guide_add_cluster":
        added.push(a as never);
        return { step: "register", cluster: "lumi", key: a.publicKey };
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return { saved, added };
}

describe("the first-run guide", () => {
  it("takes a LUMI newcomer from the site to a new key to register, saving every step", async () => {
    const { saved, added } = core();
    render(Welcome, { guide: { step: "factory" }, onfinish: () => {} });
    await fireEvent.click(await screen.findByLabelText(/LUMI/));
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    const user = await screen.findByLabelText("Your user name on the cluster");
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("Your user name on LUMI");
    await fireEvent.input(user, { target: { value: "ada" } });
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await screen.findByRole("heading", { name: "How will you log in?" });
    // A key is what LUMI takes; making one is the default.
    expect((screen.getByLabelText(/Make a new key/) as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByLabelText(/code/)).toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    const key = (await screen.findByLabelText("Your public key")) as HTMLTextAreaElement;
    expect(key.value).toBe("ssh-ed25519 AAAAC3Nza ada@usine");
    expect(screen.getByText(/MyAccessID profile/)).toBeTruthy();
    expect(saved.map((g) => g.step)).toEqual(["user", "login"]);
    expect(added).toEqual([
      {
        place: { kind: "site", id: "lumi" },
        user: "ada",
        login: { method: "key", key: "/home/ada/.ssh/id_ed25519", certificate: null },
        publicKey: "ssh-ed25519 AAAAC3Nza ada@usine",
      },
    ]);
  });

  it("resumes at the saved step with what was chosen", async () => {
    core();
    render(Welcome, {
      guide: {
        step: "login",
        place: { kind: "custom", name: "lab", host: "h", port: 2222 },
        user: "bob",
      },
      onfinish: () => {},
    });
    expect(await screen.findByRole("heading", { name: "How will you log in?" })).toBeTruthy();
    // Any cluster: every way in is offered.
    expect(screen.getByLabelText("A password and a one-time code")).toBeTruthy();
    const current = screen.getByText("How you log in");
    expect(current.getAttribute("aria-current")).toBe("step");
  });

  it("'just try on this computer' ends the guide at once, for a first job here", async () => {
    const { saved } = core();
    let finished: [string | null, boolean] | null = null;
    render(Welcome, {
      guide: { step: "factory" },
      onfinish: (cluster: string | null, firstJob: boolean) => (finished = [cluster, firstJob]),
    });
    await fireEvent.click(await screen.findByLabelText(/just try Usine on this computer/));
    await fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(saved).toEqual([{ step: "finished", cluster: null }]);
    expect(finished).toEqual([null, true]);
  });
});
