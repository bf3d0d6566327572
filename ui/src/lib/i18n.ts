// Every string the UI shows lives here, keyed, so that languages can be added without touching
// components. `t` only accepts keys that exist in the English catalogue; each other language is
// a full catalogue of the same keys under `locales/` (a missing key does not compile).
import { fr } from "./locales/fr";

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
  "idle.title": "{name} is not using its GPUs",
  "idle.body":
    "Its {gpus} GPU(s) have been under {below} % busy for {minutes} minutes, and still cost GPU hours.",
  "idle.open": "Look at the job",
  "idle.cancel": "Cancel the job",
  "idle.keep": "Let it run",
  "offline.title": "Some work is waiting for a cluster",
  "offline.titleDropped": "The connection to a cluster was lost",
  "offline.unreachable": "Usine cannot reach {cluster}. {reason}",
  "offline.refused": "{cluster} did not let you in. {reason}",
  "offline.cluster": "{cluster} is not reachable. {reason}",
  "offline.queuedOne":
    "A job waits to be sent to {cluster}; it goes out as soon as it is connected again (Clusters → Connect).",
  "offline.queued":
    "{count} jobs wait to be sent to {cluster}; they go out as soon as it is connected again (Clusters → Connect).",
  "offline.still":
    "Drafts, templates, your job history and the last known partitions and GPU hours still work.",
  "home.title": "Where your jobs can run",
  "home.intro":
    "No cluster is set up yet, so jobs run on this computer. Add an AI Factory under Clusters when your allocation arrives.",
  "home.introClusters":
    "This computer and your clusters: what runs now, what is left of your GPU hours, and what you were preparing.",
  "home.loading": "Looking for places to run jobs…",
  "home.error":
    "Usine could not list where jobs can run: {error}. Restart Usine; if it happens again, run `usine doctor`.",
  "home.clusters": "Your clusters",
  "home.running": "Running now",
  "home.budgets": "GPU hours left",
  "home.budget": "{account} on {cluster}",
  "home.budgetLeft": "{left} of {limit} GPU hours left",
  "home.transfers": "Uploads not finished",
  "home.transferLeft": "{done} of {total} confirmed (resume it under Data)",
  "home.drafts": "Recent drafts",
  "home.gpuBusy": "GPU busy over time",
  "target.cpu": "CPU in use",
  "target.memory": "Memory in use",
  "target.measuring": "measuring…",
  "target.cpus": "{count} CPUs",
  "target.kind.thisComputer": "This computer",
  "clusters.title": "Clusters",
  "clusters.intro":
    "Add the supercomputer your allocation e-mail names. Usine logs in once per session and reuses that connection for everything, so you type a one-time code only once.",
  "clusters.none": "No cluster yet. Add one below.",
  "clusters.connect": "Connect",
  "clusters.forget": "Forget",
  "clusters.state.connected": "Connected",
  "clusters.state.notConnected": "Not connected",
  "clusters.state.connecting": "Connecting…",
  "clusters.state.waitingForUser": "Waiting for you",
  "clusters.state.offline": "Offline",
  "clusters.state.reconnecting": "Reconnecting…",
  "clusters.free": "{size} free",
  "storage.home": "Home (small: code and settings)",
  "storage.scratch": "Scratch (large and fast, for datasets; sites may clean it)",
  "storage.work": "Work",
  "storage.project": "Project",
  "clusters.gpusPerNode": "{count} × {type} GPUs per node",
  "clusters.noGpus": "no GPUs",
  "clusters.maxTime": "up to {hours} h",
  "clusters.noTimeLimit": "no time limit",
  "clusters.hoursLeft": "{hours} GPU hours left",
  "clusters.noLimit": "no GPU-hour limit",
  "clusters.slurm": "Slurm {version}",
  "cert.valid": "Login certificate valid until {time}.",
  "cert.expiresSoon":
    "Your login certificate expires at {time}: get a new one from the site before then.",
  "cert.expired":
    "Your login certificate expired at {time}: get a new one from the site, then connect.",
  "cert.notYetValid": "Your login certificate is not valid yet: check your computer's clock.",
  "data.title": "Data",
  "data.intro":
    "Send datasets to a cluster. Uploads continue where they stopped after a network drop or a restart, and every file is checked against the cluster's own checksum.",
  "data.cluster": "To which cluster?",
  "data.noCluster": "Add a cluster first (Clusters).",
  "data.source": "File or folder on this computer",
  "data.destination": "Into which folder on the cluster?",
  "data.destinationHint": "Large datasets belong in scratch or work, not in your home folder.",
  "data.send": "Send",
  "data.byChecksum":
    "Compare contents, not dates (slower; for copies whose dates changed but not their contents)",
  "data.history": "Uploads",
  "data.none": "Nothing sent yet.",
  "data.files": "{verified} of {files} files verified",
  "data.state.done": "Verified",
  "data.state.failed": "Needs attention",
  "data.state.interrupted": "Interrupted: resume to continue",
  "data.state.running": "Not finished",
  "data.resume": "Resume",
  "data.pause": "Pause",
  "data.rate": "{rate}/s · about {left} left",
  "data.current": "Now: {file}",
  "data.progress": "{done} of {total} · {files} of {filesTotal} files",
  "data.back": "Bring results back",
  "data.backIntro":
    "Copies a folder from the cluster to this computer, checking every file against the cluster's checksum. Files you already have are not copied again; an interrupted copy continues where it stopped.",
  "data.remote": "Folder on the cluster",
  "data.local": "Into which folder on this computer?",
  "data.fetch": "Bring back",
  "data.lands": "It goes to {place} on {cluster}.",
  "data.comes": "It comes to {place} on this computer.",
  "data.fetched": "{verified} of {files} files verified in {folder}",
  "import.title": "Already using ssh?",
  "import.find": "Find the hosts in my SSH configuration",
  "import.none": "No host found in ~/.ssh/config.",
  "import.add": "Add",
  "import.via": "via {jumps}",
  "add.title": "Add a cluster",
  "add.site": "Which AI Factory?",
  "add.site.custom": "Another cluster (enter its address)",
  "add.name": "Name in Usine",
  "add.nameHint": "Any short name you will recognise; filled in from the login host.",
  "add.host": "Login host",
  "add.port": "Port",
  "add.user": "Your user name on the cluster",
  "add.login": "How you log in",
  "add.login.key": "With my SSH key",
  "add.login.keyThenCode": "SSH key, then a one-time code",
  "add.login.passwordAndCode": "Password and one-time code",
  "add.login.agent": "Keys in my SSH agent",
  "add.key": "Private key file",
  "key.make": "I have no key: make one for me",
  "key.made":
    "Your new key is ready, protected by a passphrase kept in your system keychain. Give the site this public key (it is safe to share):",
  "key.copy": "Copy the public key",
  "key.copied": "Copied.",
  "key.portal": "Register it on the site's portal: {url}",
  "add.jump": "Bastion to go through (optional, user@host:port)",
  "add.rest":
    "The site's Slurm REST address (optional; only if your site gives you one, jobs then go through it)",
  "add.submit": "Add cluster",
  "add.unconfirmed": "Not confirmed by the site's documentation: check it.",
  "question.hostKey.title": "Is this really {host}?",
  "question.hostKey.body":
    "Usine has never connected to {host} (port {port}) before. Compare this fingerprint with the one your site publishes before trusting it:",
  "question.hostKey.trust": "Trust and connect",
  "question.login.title": "Log in to {destination}",
  "question.passphrase.title": "Passphrase for {key}",
  "question.password.title": "Password for {destination}",
  "question.passphrase.field": "Passphrase",
  "question.password.field": "Password",
  "question.answer": "Your answer",
  "question.submit": "Continue",
  "question.cancel": "Cancel",
  "drafts.title": "Drafts",
  "drafts.intro":
    "Prepare a job, even on a train: it is saved as you type and checked against the cluster's partitions and your project's GPU hours before it costs anything.",
  "drafts.start": "Start from a template",
  "drafts.use": "Use this",
  "drafts.import": "…or paste an existing sbatch script",
  "drafts.importButton": "Read this script",
  "drafts.yours": "Your drafts",
  "drafts.none": "No draft yet.",
  "drafts.open": "Open",
  "drafts.delete": "Delete",
  "draft.back": "All drafts",
  "draft.saved": "Saved",
  "draft.saving": "Saving…",
  "draft.where": "Where it runs",
  "draft.thisComputer": "This computer",
  "draft.name": "Job name",
  "draft.account": "Project that pays",
  "draft.account.default": "The cluster's default",
  "draft.partition": "Partition",
  "draft.partition.default": "The cluster's default",
  "draft.nodes": "Nodes (machines)",
  "draft.gpus": "GPUs per node",
  "draft.gpuType": "GPU type",
  "draft.gpuType.any": "Any",
  "draft.cpus": "CPU cores per task",
  "draft.tasks": "Tasks per node",
  "draft.memory": "Memory per node (GB, empty: default)",
  "draft.hours": "Time limit",
  "time.unit": "Unit",
  "time.minutes": "minutes",
  "time.hours": "hours",
  "draft.workdir": "Working folder on the cluster",
  "draft.modules": "Modules to load (comma-separated)",
  "draft.container": "Container image (.sif or docker://…, optional)",
  "draft.venv": "Python venv folder (optional)",
  "draft.variables": "Environment variables (NAME=value, one per line)",
  "draft.commands": "Commands",
  "draft.array": "Run once per number (a sweep)",
  "draft.arrayFirst": "From",
  "draft.arrayLast": "to",
  "draft.arrayMax": "at most at once",
  "draft.notify": "Tell me when it",
  "draft.notify.start": "starts",
  "draft.notify.end": "finishes",
  "draft.notify.failure": "fails",
  "draft.recordGpu": "Record GPU use for the charts",
  "draft.cost": "Up to {hours} GPU hours",
  "draft.billed": "({amount} {unit})",
  "draft.left": "{hours} GPU hours left in the project",
  "draft.free": "Free: it runs on this computer.",
  "draft.noGpuHours": "No GPU hours: this job uses CPUs only.",
  "draft.refused": "The last time this was sent, the cluster refused it: {reason}",
  "draft.checksOk": "Ready to send.",
  "draft.fixAtFields": "See what is marked in red next to the fields ({count}).",
  "draft.script": "Show the sbatch script (for experts)",
  "draft.scriptUse": "Use this script",
  "draft.submit": "Submit",
  "draft.queue": "Queue (sent when {target} is connected)",
  "draft.submitted": "Sent to the job list.",
  "jobs.number": "job {number},",
  "jobs.submittedAt": "submitted {when}",
  "jobs.title": "Jobs",
  "jobs.intro":
    "Everything you sent, with its state in plain words. Usine follows running jobs and tells you when they start, finish or fail.",
  "jobs.none": "No jobs yet. Prepare one under Drafts.",
  "jobs.filter": "Show",
  "jobs.filter.all": "All jobs",
  "jobs.filter.active": "Not finished",
  "jobs.filter.finished": "Finished",
  "jobs.where": "on",
  "jobs.everywhere": "every target",
  "jobs.cancel": "Cancel job",
  "jobs.resubmit": "Run again",
  "jobs.logs": "Output",
  "jobs.errors": "Errors",
  "jobs.connect": "Connect to {cluster}",
  "jobs.refreshLogs": "Refresh output",
  "jobs.noLogs": "No output yet.",
  "jobs.slurmId": "Slurm job {id}",
  "jobs.used": "{hours} GPU hours used",
  "jobs.exit": "exit code {code}",
  "jobs.created": "Prepared {time}",
  "jobs.refused":
    "The cluster refused it when it was sent: {reason} Fix the draft and submit it again.",
  "jobs.started": "Started {time}",
  "jobs.ended": "Ended {time}",
  "gpu.title": "GPU use",
  "gpu.titleHere": "Use of this computer",
  "gpu.exportPng": "Save as PNG",
  "gpu.exportSvg": "Save as SVG",
  "gpu.exportCsv": "Save the figures (CSV)",
  "gpu.saveWhere": "Save it as",
  "gpu.save": "Save",
  "gpu.cancelSave": "Cancel",
  "gpu.saved": "Saved to {path}",
  "settings.title": "Settings",
  "settings.intro":
    "Your language, the words Usine uses, how it watches your jobs' GPUs (changes apply from the next look), and updates.",
  "settings.idleBelow": "A GPU counts as idle under this share busy (%)",
  "settings.idleMinutes": "Warn when a job's GPUs have been idle for (minutes)",
  "settings.retention": "Keep GPU history for (days)",
  "settings.save": "Save",
  "settings.saved": "Saved.",
  "settings.language": "Language",
  "updates.title": "Updates",
  "updates.current": "This is Usine {version}.",
  "updates.off":
    "This copy of Usine does not update itself (it was built without the update key). Install new versions with your package manager or from the release page.",
  "updates.check": "Check for updates",
  "updates.latest": "You have the latest version.",
  "updates.found": "Usine {version} is available.",
  "updates.install": "Install and restart",
  "updates.see": "See the update",
  "updates.later": "Later",
  "updates.downloading": "Downloading the update",
  "updates.downloaded":
    "{done} of {total} downloaded; the signature is checked before anything is installed.",
  "gpu.summary": "{gpus} GPU(s) · {mean} % busy on average · {idle} GPU hours idle",
  "gpu.summaryHere": "{mean} % of this computer's processors busy on average",
  "gpu.none": "No samples yet. They arrive about every 10 seconds while the job runs.",
  "gpu.noTool":
    "No GPU figures will come for this job: its machine has no GPU tool (nvidia-smi, rocm-smi or amd-smi). Its output and state are still shown.",
  "gpu.error": "The GPU chart could not be drawn: {error}",
  "monitor.title": "Monitor",
  "monitor.intro":
    "The GPUs of your running jobs, live, and what jobs on this computer use of its processors and memory. A GPU that stays idle still costs GPU hours: Usine warns you when a job's GPUs sit idle for 30 minutes.",
  "monitor.none":
    "No followed job is running. Jobs that record GPU use, and every job on this computer, show up here while they run.",
  "job.state.queued": "Waiting to be sent",
  "job.state.pending": "Waiting in the queue",
  "job.state.running": "Running",
  "job.state.completing": "Finishing",
  "job.state.suspended": "Paused",
  "job.state.completed": "Finished",
  "job.state.failed": "Failed",
  "job.state.cancelled": "Cancelled",
  "job.state.timeout": "Ran out of time",
  "job.state.outOfMemory": "Ran out of memory",
  "job.state.nodeFail": "A node failed",
  "job.state.preempted": "Stopped to make room",
  "job.state.other": "Unknown state",
  "guide.open": "Set up a cluster, step by step",
  "guide.title": "Welcome to Usine",
  "guide.progress": "Steps",
  "guide.step.factory": "Your AI Factory",
  "guide.step.user": "Your user name",
  "guide.step.login": "How you log in",
  "guide.step.register": "Register your key",
  "guide.step.connect": "First login",
  "guide.step.discovered": "What you can use",
  "guide.next": "Next",
  "guide.back": "Back",
  "guide.skip": "Skip the guide: I will set things up myself",
  "guide.startOver": "Start over",
  "guide.factory.question": "Which AI Factory gave you compute time?",
  "guide.factory.why":
    "Usine then knows the cluster's address, how it lets people in and where large data goes. Your allocation e-mail names the machine.",
  "guide.factory.custom": "Another cluster: I have its address",
  "guide.factory.thisComputer": "None yet: just try Usine on this computer",
  "guide.user.question": "Your user name on {place}",
  "guide.user.why":
    "The cluster knows you by this name, not by your e-mail. It is in the message that gave you the compute time (or on the site's portal).",
  "guide.login.question": "How will you log in?",
  "guide.login.why":
    "Clusters do not let you in with a password alone. You prove who you are with a key: a small file that stays on this computer, whose public half the cluster knows.",
  "guide.login.new":
    "Make a new key for me (recommended): its passphrase goes to this computer's keychain",
  "guide.login.existing": "Use a key I already registered",
  "guide.login.certificate": "Use my key and the certificate the site gave me",
  "guide.login.code": "A password and a one-time code",
  "guide.login.agent": "The keys my ssh-agent already holds",
  "guide.register.title": "Give your public key to {place}",
  "guide.register.why":
    "The cluster lets in only keys it knows. This is the public half: safe to share. The private half never leaves this computer.",
  "guide.register.publicKey": "Your public key",
  "guide.register.custom":
    "Send this public key to your cluster's support, or paste it into their portal, as your allocation e-mail says.",
  "guide.register.ready": "Ready for the first login",
  "guide.register.code":
    "Keep your phone's authenticator app at hand: the cluster will ask for a one-time code.",
  "guide.register.existing": "Usine will log in with the key you chose; nothing to register.",
  "guide.register.done": "I registered it: next",
  "guide.connect.title": "Log in for the first time",
  "guide.connect.why":
    "Usine logs in once and keeps that connection for everything: data, jobs and charts, so you are not asked for a code again. The first time, it shows you the cluster's identity to confirm.",
  "guide.connect.go": "Log in now",
  "guide.connect.again": "Try again",
  "guide.connect.busy": "Logging in…",
  "guide.discovered.title": "You are in",
  "guide.discovered.why":
    "This is what your allocation gives you. Usine keeps it, so it checks your jobs even when you are offline.",
  "guide.discovered.firstJob": "Run my first job",
  "guide.discovered.later": "Later: go to Home",
  "first.title": "Your first job",
  "first.step.template": "What to run",
  "first.step.data": "Your data",
  "first.step.cost": "Cost and send",
  "first.template.question": "What do you want to run?",
  "first.template.why":
    "A template is a job that already works; you change only what is yours. The first one is made to show you the GPUs.",
  "first.data.question": "Does the job need data from this computer?",
  "first.data.why":
    "Jobs read their data on the cluster, so it must be there first. Usine sends it, checks every file, and resumes if the link drops.",
  "first.data.no": "No, not this time",
  "first.data.yes": "Yes: send a folder",
  "first.data.there": "It is already on the cluster",
  "first.data.remote": "Its folder on the cluster",
  "first.data.folder": "Folder on this computer",
  "first.data.where": "It goes to {path} on the cluster.",
  "first.data.needFolder": "Choose the folder to send first.",
  "first.data.sendFirst": "Send the data first (or answer that the job needs none).",
  "first.data.send": "Send it",
  "first.data.sent": "Sent and checked.",
  "first.cost.question": "What it costs, before it costs anything",
  "first.cost.why":
    "You pay for the GPUs you ask for, for as long as the job runs, at most until its time limit.",
  "first.cost.gpus": "GPUs",
  "first.cost.hours": "Time limit",
  "first.cost.free": "Free: it runs on this computer.",
  "first.cost.upTo": "Up to {hours}",
  "first.cost.left": "{left} left in {account}",
  "first.cost.meter": "Share of the GPU hours left this job can use",
  "first.cost.here": "Runs on this computer, in the background: you can keep using it.",
  "first.cost.where": "Runs on the {partition} machines, paid by {account}.",
  "first.cost.ready": "Ready to send.",
  "first.cost.submit": "Send the job",
  "term.account": "Projects",
  "term.account.help":
    "Your allocation: the budget your jobs are paid from. Slurm calls it an account; your e-mail may call it a project.",
  "term.account.expert": "Slurm: account",
  "term.partition": "Kinds of machines",
  "term.partition.help":
    "A cluster groups its machines (with GPUs, without, for quick tests); each job asks for one group. Slurm calls a group a partition.",
  "term.partition.expert": "Slurm: partition",
  "term.gpuHour": "GPU hours",
  "term.gpuHour.help":
    "One GPU for one hour. Four GPUs for 30 minutes are two GPU hours. Your allocation is counted in them.",
  "term.gpuHour.expert": "Slurm: TRES billing, gres/gpu",
  "term.scratch": "Where your files go",
  "term.scratch.help":
    "Home is small and backed up; scratch is large and fast, for datasets, but sites clean it now and then.",
  "term.scratch.expert": "$HOME, $SCRATCH",
  "term.key": "SSH key",
  "term.key.help":
    "A pair of files: the private one stays on this computer, the public one is given to the cluster.",
  "term.key.expert": "ssh-ed25519",
  "term.node": "Node",
  "term.node.help": "One machine of the cluster, usually with 4 or 8 GPUs.",
  "term.node.expert": "Slurm: node",
  "settings.expert": "Show the technical words (Slurm's) next to the plain ones",
} as const;

export type MessageKey = keyof typeof en;

/** The languages Usine speaks, each named in itself. */
export const languages = { en: "English", fr: "Français" } as const;
export type Language = keyof typeof languages;

const catalogues: Record<Language, Record<MessageKey, string>> = { en, fr };
const STORAGE_KEY = "usine.language";

function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && value in languages;
}

/** The user's choice, else the system's language when Usine speaks it, else English. */
function initialLanguage(): Language {
  const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
  if (isLanguage(stored)) return stored;
  const system = globalThis.navigator?.language?.slice(0, 2);
  return isLanguage(system) ? system : "en";
}

let current: Language = initialLanguage();

export function language(): Language {
  return current;
}

/** Dates and numbers follow the language shown. */
export function locale(): string {
  return current;
}

/** Switches language; the screens are drawn again in it (a reload keeps every component simple). */
export function setLanguage(next: Language, reload = () => globalThis.location?.reload()): void {
  globalThis.localStorage?.setItem(STORAGE_KEY, next);
  current = next;
  reload();
}

export function translate(
  lang: Language,
  key: MessageKey,
  params: Record<string, string | number> = {},
): string {
  return catalogues[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return translate(current, key, params);
}

export { en };
