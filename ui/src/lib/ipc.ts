// The only place that talks to the Rust side. Types come from the generated bindings.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AskedQuestion,
  Candidates,
  ClusterProfile,
  NewCluster,
  ClusterView,
  Draft,
  DraftView,
  GeneratedKey,
  GpuSummary,
  Guide,
  HostMetrics,
  JobEntry,
  JobSpec,
  Lang,
  Login,
  Logs,
  Settings,
  Place,
  Site,
  Target,
  Template,
  TransferSummary,
  UploadStarted,
  ExportFormat,
  ErrorKind,
  AppEvent,
  AvailableUpdate,
  ClusterStateEvent,
  IdleJob,
  JobRef,
  Progressed,
  TransferDone,
} from "./bindings";

/** The name of an event the app sends (generated from the core's `AppEvent`). */
export type EventName = AppEvent["name"];
/** What the event called `N` carries. */
export type PayloadOf<N extends EventName> =
  Extract<AppEvent, { name: N }> extends { payload: infer P } ? P : undefined;

/** Listens for one of the app's events, typed by its name: a name or payload field renamed in
 *  Rust breaks `tsc` here and at every use. */
export function on<N extends EventName>(
  name: N,
  handler: (payload: PayloadOf<N>) => void,
): Promise<UnlistenFn> {
  return listen<PayloadOf<N>>(name, (event) => handler(event.payload));
}

// Names the tests emit, checked against the generated list.
export const QUESTION_EVENT: EventName = "ssh-question";
export const TRANSFER_DONE_EVENT: EventName = "transfer-done";
export const JOB_EVENT: EventName = "job-changed";
export const IDLE_EVENT: EventName = "job-idle";
export const UPDATE_EVENT: EventName = "update-available";
export const HOST_METRICS_EVENT: EventName = "host-metrics";
/** Must match `THIS_COMPUTER_ID` in crates/usine-core/src/target.rs. */
export const THIS_COMPUTER = "this-computer";

/** What the user answers to a login question; secrets go to Rust and never come back. */
export type QuestionAnswer =
  { kind: "trust" } | { kind: "texts"; texts: string[] } | { kind: "cancel" };

/** Commands reject with `{ kind, message }`: what kind of trouble it is (see `ErrorKind`), and
 *  a sentence in the person's language that says what to do next. */
export type UiError = { kind: ErrorKind; message: string };

export function errorMessage(e: unknown): string {
  if (e && typeof e === "object" && "message" in e)
    return String((e as { message: unknown }).message);
  return String(e);
}

/** The kind of a command's error; `null` for anything that did not come from a command. */
export function errorKind(e: unknown): ErrorKind | null {
  if (e && typeof e === "object" && "kind" in e) return (e as UiError).kind;
  return null;
}

export const listTargets = (): Promise<Target[]> => invoke("list_targets");
export const listSites = (): Promise<Site[]> => invoke("list_sites");
export const listClusters = (): Promise<ClusterView[]> => invoke("list_clusters");
export const addCluster = (cluster: NewCluster): Promise<void> =>
  invoke("add_cluster", { cluster });
export const importCluster = (alias: string): Promise<void> => invoke("import_cluster", { alias });
export const sshConfigCandidates = (): Promise<Candidates> => invoke("ssh_config_candidates");
export const generateKey = (comment: string): Promise<GeneratedKey> =>
  invoke("generate_key", { comment });
export const listTransfers = (): Promise<TransferSummary[]> => invoke("list_transfers");
/** Sends `source` into the cluster folder `into`, where it keeps its name. */
export const startUpload = (
  cluster: string,
  source: string,
  into: string,
  byChecksum = false,
): Promise<UploadStarted> => invoke("start_upload", { cluster, source, into, byChecksum });
/** Where `source` will land on the cluster when sent into `into`: shown before sending. */
export const uploadPlace = (source: string, into: string): Promise<string> =>
  invoke("upload_place", { source, into });
/** Where the cluster folder `remote` will land here when brought back into `into`. */
export const downloadPlace = (remote: string, into: string): Promise<string> =>
  invoke("download_place", { remote, into });
export const resumeUpload = (id: string): Promise<void> => invoke("resume_upload", { id });
export const pauseUpload = (id: string): Promise<void> => invoke("pause_upload", { id });
export const forgetCluster = (name: string): Promise<void> => invoke("forget_cluster", { name });
export const connectCluster = (name: string): Promise<ClusterProfile> =>
  invoke("connect_cluster", { name });
export const answerQuestion = (id: number, answer: QuestionAnswer): Promise<void> =>
  invoke("answer_question", { id, answer });

export const onHostMetrics = (handler: (metrics: HostMetrics) => void) =>
  on("host-metrics", handler);
export const onQuestion = (handler: (q: AskedQuestion) => void) => on("ssh-question", handler);
export const onClusterState = (handler: (e: ClusterStateEvent) => void) =>
  on("cluster-state", handler);
export const onTransferProgress = (handler: (e: Progressed) => void) =>
  on("transfer-progress", handler);
export const onTransferDone = (handler: (e: TransferDone) => void) => on("transfer-done", handler);

export const listTemplates = (): Promise<Template[]> => invoke("list_templates");
/** The first job the guide offers on `target`: one that shows its GPUs, or its processors. */
export const firstJobTemplate = (target: string): Promise<string> =>
  invoke("first_job_template", { target });
export const listDrafts = (): Promise<Draft[]> => invoke("list_drafts");
export const createDraft = (
  target: string,
  template: string | null,
  script: string | null = null,
): Promise<DraftView> => invoke("create_draft", { target, template, script });
export const openDraft = (id: string): Promise<DraftView> => invoke("open_draft", { id });
export const saveDraft = (id: string, target: string, spec: JobSpec): Promise<DraftView> =>
  invoke("save_draft", { id, target, spec });
export const importScript = (id: string, target: string, script: string): Promise<DraftView> =>
  invoke("import_script", { id, target, script });
export const deleteDraft = (id: string): Promise<void> => invoke("delete_draft", { id });
export const submitDraft = (id: string): Promise<JobEntry> => invoke("submit_draft", { id });
export const resubmitJob = (id: string): Promise<JobEntry> => invoke("resubmit_job", { id });
export const listJobs = (): Promise<JobEntry[]> => invoke("list_jobs");
export const cancelJob = (id: string): Promise<void> => invoke("cancel_job", { id });
export const jobLogs = (id: string): Promise<Logs> => invoke("job_logs", { id });

export const onJobChanged = (handler: (job: JobEntry) => void) => on("job-changed", handler);
export const jobChart = (id: string, width: number, height: number): Promise<string> =>
  invoke("job_chart", { id, width, height });
export const jobSparkline = (id: string): Promise<string> => invoke("job_sparkline", { id });
export const jobGpuSummary = (id: string): Promise<GpuSummary> => invoke("job_gpu_summary", { id });

export const onGpuSamples = (handler: (e: JobRef) => void) => on("gpu-samples", handler);
/** Where Save proposes to put a job's chart or samples (the person can change it). */
export const suggestExportPath = (id: string, format: ExportFormat): Promise<string> =>
  invoke("suggest_export_path", { id, format });
/** Saves a job's chart or samples at `path`; an existing file is left alone. */
export const exportChart = (id: string, format: ExportFormat, path: string): Promise<string> =>
  invoke("export_chart", { id, format, path });
export const getSettings = (): Promise<Settings> => invoke("get_settings");

/** Whether this copy updates itself (a build with the maintainers' update key), and its version. */
export interface UpdateStatus {
  enabled: boolean;
  current: string;
  found: AvailableUpdate | null;
}
export interface UpdateDownload {
  bytes: number;
  total: number | null;
}
export const updateStatus = (): Promise<UpdateStatus> => invoke("update_status");
export const onUpdateAvailable = (handler: (u: AvailableUpdate) => void) =>
  on("update-available", handler);
export const checkUpdate = (): Promise<AvailableUpdate | null> => invoke("check_update");
/** Downloads, verifies and installs the update the last check found; the app then restarts. */
export function installUpdate(onProgress: (p: UpdateDownload) => void): Promise<void> {
  const progress = new Channel<UpdateDownload>();
  progress.onmessage = onProgress;
  return invoke("install_update", { progress });
}
export const saveSettings = (settings: Settings): Promise<void> =>
  invoke("save_settings", { settings });
export const startDownload = (
  cluster: string,
  source: string,
  destination: string,
): Promise<string> => invoke("start_download", { cluster, source, destination });

export const onDownloadProgress = (handler: (e: Progressed) => void) =>
  on("download-progress", handler);
export const onDownloadDone = (handler: (e: TransferDone) => void) => on("download-done", handler);

export const guideAtStart = (): Promise<Guide | null> => invoke("guide_at_start");
export const saveGuide = (guide: Guide): Promise<void> => invoke("save_guide", { guide });
export const guideAddCluster = (
  place: Place,
  user: string,
  login: Login,
  publicKey: string | null,
): Promise<Guide> => invoke("guide_add_cluster", { place, user, login, publicKey });
/** The language Rust writes its messages in (checks, reasons, charts, notifications). */
export const setCoreLanguage = (lang: Lang): Promise<void> => invoke("set_language", { lang });

/** A script file the app was asked to open (double-clicked `.sbatch`). */
export interface OpenedScript {
  path: string;
  text: string | null;
  /** Why it could not be read. */
  error: string | null;
}

/** The scripts Usine was asked to open that no screen has taken yet (at start, or since). */
export const takeOpenedScripts = (): Promise<OpenedScript[]> => invoke("take_opened_scripts");

/** Scripts wait to be taken (`takeOpenedScripts`). */
export const onOpenScript = (handler: () => void) => on("open-script", () => handler());

/** A running job whose GPUs have sat idle for the time set under Settings. */
export const onJobIdle = (handler: (job: IdleJob) => void) => on("job-idle", handler);
/** The user clicked a job's desktop notification (its id): show that job. */
export const onOpenJob = (handler: (id: string) => void) => on("open-job", handler);
