// The only place that talks to the Rust side. Types come from the generated bindings.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { HostMetrics, Target } from "./bindings";

/** Must match `HOST_METRICS_EVENT` in src-tauri/src/live.rs. */
export const HOST_METRICS_EVENT = "host-metrics";

export function listTargets(): Promise<Target[]> {
  return invoke<Target[]>("list_targets");
}

export function onHostMetrics(handler: (metrics: HostMetrics) => void): Promise<UnlistenFn> {
  return listen<HostMetrics>(HOST_METRICS_EVENT, (event) => handler(event.payload));
}
