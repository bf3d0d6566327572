import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import OfflineBanner from "./OfflineBanner.svelte";
import { needsAttention, queuedByTarget } from "./offline";
import type { JobEntry } from "./bindings";

const job = (target: string, state: JobEntry["state"]) => ({ target, state }) as JobEntry;

describe("needsAttention", () => {
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
        lumi: { state: "offline", reason: "The network is down." },
        leonardo: { state: "connected" },
        karolina: { state: "offline", reason: "timed out" },
      },
      queued,
      "this-computer",
    );
    expect(attention).toEqual([
      { cluster: "karolina", offline: "timed out", queued: 0 },
      { cluster: "lumi", offline: "The network is down.", queued: 2 },
    ]);
  });

  it("shows jobs waiting for a cluster that was never connected in this session", () => {
    expect(needsAttention({}, { meluxina: 1 }, "this-computer")).toEqual([
      { cluster: "meluxina", offline: null, queued: 1 },
    ]);
  });
});

describe("OfflineBanner", () => {
  it("says what is unreachable, what waits, and what still works", () => {
    render(OfflineBanner, {
      props: { attention: [{ cluster: "lumi", offline: "the network is down", queued: 2 }] },
    });
    expect(screen.getByRole("status").textContent).toMatch(/lumi is not reachable/);
    expect(screen.getByText(/2 jobs wait to be sent to lumi/)).toBeTruthy();
    expect(screen.getByText(/Drafts, templates/)).toBeTruthy();
  });

  it("says one job in the singular", () => {
    render(OfflineBanner, {
      props: { attention: [{ cluster: "vega", offline: null, queued: 1 }] },
    });
    expect(screen.getByText(/A job waits to be sent to vega/)).toBeTruthy();
  });

  it("is absent when nothing waits", () => {
    const { container } = render(OfflineBanner, { props: { attention: [] } });
    expect(container.querySelector("[data-offline]")).toBeNull();
  });
});
