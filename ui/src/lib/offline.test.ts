import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import OfflineBanner from "./OfflineBanner.svelte";
import { needsAttention, queuedByTarget } from "./offline";
import type { JobEntry } from "./bindings";

const job = (target: string, state: JobEntry["state"]) => ({ target, state }) as JobEntry;

describe("needsAttention", () => {
  const known = ["lumi", "leonardo", "karolina", "meluxina", "vega"];

  it("names lost links and queued work, not connected clusters or this computer", () => {
    const queued = queuedByTarget([
      job("lumi", "queued"),
      job("lumi", "queued"),
      job("lumi", "running"),
      job("leonardo", "queued"),
      job("this-computer", "queued"),
    ]);
    const attention = needsAttention(
      {
        lumi: { state: "offline", reason: "The network is down.", why: "unreachable" },
        leonardo: { state: "connected" },
        karolina: { state: "offline", reason: "timed out", why: "dropped" },
      },
      queued,
      "this-computer",
      known,
    );
    expect(attention).toEqual([
      { cluster: "karolina", offline: "timed out", why: "dropped", queued: 0 },
      { cluster: "lumi", offline: "The network is down.", why: "unreachable", queued: 2 },
    ]);
  });

  it("says nothing on every screen about a login that failed with nothing queued", () => {
    const states = {
      vega: { state: "offline", reason: "The key was refused.", why: "loginRefused" },
      meluxina: { state: "offline", reason: "Cannot reach it.", why: "unreachable" },
    } as const;
    expect(needsAttention(states, {}, "this-computer", known)).toEqual([]);
  });

  it("forgets a forgotten cluster", () => {
    const states = { gone: { state: "offline", reason: "lost", why: "dropped" } } as const;
    expect(needsAttention(states, { gone: 1 }, "this-computer", known)).toEqual([]);
  });

  it("shows jobs waiting for a cluster that was never connected in this session", () => {
    expect(needsAttention({}, { meluxina: 1 }, "this-computer", known)).toEqual([
      { cluster: "meluxina", offline: null, why: null, queued: 1 },
    ]);
  });
});

describe("OfflineBanner", () => {
  it("says what is unreachable, what waits, and what still works", () => {
    render(OfflineBanner, {
      props: {
        attention: [{ cluster: "lumi", offline: "the network is down", why: "dropped", queued: 2 }],
      },
    });
    expect(screen.getByRole("status").textContent).toMatch(/lumi is not reachable/);
    expect(screen.getByText(/2 jobs wait to be sent to lumi/)).toBeTruthy();
    expect(screen.getByText(/Drafts, templates/)).toBeTruthy();
  });

  it("says one job in the singular", () => {
    render(OfflineBanner, {
      props: { attention: [{ cluster: "vega", offline: null, why: null, queued: 1 }] },
    });
    expect(screen.getByText(/A job waits to be sent to vega/)).toBeTruthy();
  });

  it("is absent when nothing waits", () => {
    const { container } = render(OfflineBanner, { props: { attention: [] } });
    expect(container.querySelector("[data-offline]")).toBeNull();
  });

  it("tells a cluster it cannot reach from one that refused the login", () => {
    render(OfflineBanner, {
      props: {
        attention: [
          { cluster: "lumi", offline: "Connection refused.", why: "unreachable", queued: 1 },
          { cluster: "vega", offline: "The key was refused.", why: "loginRefused", queued: 1 },
        ],
      },
    });
    const said = screen.getByRole("status").textContent ?? "";
    expect(said).toMatch(/Usine cannot reach lumi/);
    expect(said).toMatch(/vega did not let you in/);
    expect(said).not.toMatch(/not reachable/);
  });
});
