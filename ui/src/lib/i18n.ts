// Every string the UI shows lives here, keyed, so that languages can be added without touching
// components. `t` only accepts keys that exist in the English catalogue.
const en = {
  "app.name": "Usine",
  "nav.label": "Main sections",
  "nav.home": "Home",
  "nav.drafts": "Drafts",
  "nav.jobs": "Jobs",
  "nav.data": "Data",
  "nav.monitor": "Monitor",
  "nav.clusters": "Clusters",
  "nav.settings": "Settings",
  "home.title": "Where your jobs can run",
  "home.intro":
    "No cluster is set up yet, so jobs run on this computer. Add an AI Factory under Clusters when your allocation arrives.",
  "home.loading": "Looking for places to run jobs…",
  "home.error":
    "Usine could not list where jobs can run: {error}. Restart Usine; if it happens again, run `usine doctor`.",
  "target.cpu": "CPU in use",
  "target.memory": "Memory in use",
  "target.measuring": "measuring…",
  "target.cpus": "{count} CPUs",
  "target.kind.thisComputer": "This computer",
  "soon.drafts": "Jobs you prepare, even without a network, will be kept here until you send them.",
  "soon.jobs": "Jobs you have sent, with their state and cost, will be listed here.",
  "soon.data": "Datasets you upload to a cluster, and results you bring back, will appear here.",
  "soon.monitor": "Live charts of your running jobs' GPUs will be shown here.",
  "soon.clusters": "Connect to an AI Factory (LUMI, Leonardo, MareNostrum 5, …) here.",
  "soon.settings": "Language, notifications and storage settings will be here.",
  "soon.note": "This part of Usine is not built yet.",
} as const;

export type MessageKey = keyof typeof en;

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return en[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}
