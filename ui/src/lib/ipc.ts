// The only place that talks to the Rust side. Types come from the generated bindings.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  Commands,
  OpenedScript,
  QuestionAnswer,
  UpdateDownload,
  UpdateStatus,
} from "./commands";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AskedQuestion,
  InputsAttached,
  TransferCancelled,
  TransferFiles,
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
  ClusterPlace,
  Dropped,
  FilePreview,
  FileTail,
  FolderPage,
  FolderView,
  IfTaken,
  Moved,
  Deleted,
  PathSize,
  PickKind,
  CertificateStatus,
  WalletEvent,
  SessionKind,
  SessionPlan,
  SessionRequest,
  SessionView,
  Stopped,
  ForwardView,
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
export { THIS_COMPUTER } from "./bindings";

export type { OpenedScript, QuestionAnswer, UpdateDownload, UpdateStatus };

type CommandName = keyof Commands;
type ArgsOf<N extends CommandName> = Commands[N]["args"];

/** Calls the command `name`. Its name, arguments and result come from the Rust signatures
 *  (`commands.ts`, generated): a command or argument renamed in Rust breaks `tsc` here. */
function call<N extends CommandName>(
  name: N,
  ...args: ArgsOf<N> extends Record<string, never> ? [] : [ArgsOf<N>]
): Promise<Commands[N]["result"]> {
  return invoke(name, args[0]);
}

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

export const thisComputer = (): Promise<Target> => call("this_computer");
export const listSites = (): Promise<Site[]> => call("list_sites");
export const listClusters = (): Promise<ClusterView[]> => call("list_clusters");
export const addCluster = (cluster: NewCluster): Promise<void> => call("add_cluster", { cluster });
export const importCluster = (alias: string): Promise<void> => call("import_cluster", { alias });
export const sshConfigCandidates = (): Promise<Candidates> => call("ssh_config_candidates");
export const generateKey = (comment: string): Promise<GeneratedKey> =>
  call("generate_key", { comment });
export const listTransfers = (): Promise<TransferSummary[]> => call("list_transfers");
/**
 * Sends the files and folders `sources`, picked or dropped together, into the cluster folder
 * `into`, where each keeps its name: one upload per folder they come from.
 */
export const startUpload = (
  cluster: string,
  sources: string[],
  into: string,
  byChecksum = false,
): Promise<UploadStarted[]> => call("start_upload", { cluster, sources, into, byChecksum });
/** Where `source` will land on the cluster when sent into `into`: shown before sending. */
export const uploadPlace = (source: string, into: string): Promise<string> =>
  call("upload_place", { source, into });
/** Where the cluster folder `remote` will land here when brought back into `into`. */
export const downloadPlace = (remote: string, into: string): Promise<string> =>
  call("download_place", { remote, into });
/** Continues a paused, interrupted or failed upload or download. */
export const resumeTransfer = (id: string): Promise<void> => call("resume_transfer", { id });
export const pauseTransfer = (id: string): Promise<void> => call("pause_transfer", { id });
/** Stops a transfer for good; with `deleteSent`, deletes what it wrote (never what was there). */
export const cancelTransfer = (id: string, deleteSent: boolean): Promise<TransferCancelled> =>
  call("cancel_transfer", { id, deleteSent });
/** A page of a transfer's files with what became of each, problems first. */
export const transferFiles = (id: string, offset: number, limit: number): Promise<TransferFiles> =>
  call("transfer_files", { id, offset, limit });
export const forgetCluster = (name: string): Promise<void> => call("forget_cluster", { name });
export const connectCluster = (name: string): Promise<ClusterProfile> =>
  call("connect_cluster", { name });
export const logInAgain = (name: string): Promise<CertificateStatus | null> =>
  call("log_in_again", { name });
export const answerQuestion = (id: number, answer: QuestionAnswer): Promise<void> =>
  call("answer_question", { id, answer });

export const onHostMetrics = (handler: (metrics: HostMetrics) => void) =>
  on("host-metrics", handler);
export const onQuestion = (handler: (q: AskedQuestion) => void) => on("ssh-question", handler);
export const onClusterState = (handler: (e: ClusterStateEvent) => void) =>
  on("cluster-state", handler);
export const onCertificate = (handler: (e: WalletEvent) => void) => on("certificate", handler);
export const onTransferProgress = (handler: (e: Progressed) => void) =>
  on("transfer-progress", handler);
export const onTransferDone = (handler: (e: TransferDone) => void) => on("transfer-done", handler);

export const listTemplates = (): Promise<Template[]> => call("list_templates");
/** The first job the guide offers on `target`: one that shows its GPUs, or its processors. */
export const firstJobTemplate = (target: string): Promise<string> =>
  call("first_job_template", { target });
export const listDrafts = (): Promise<Draft[]> => call("list_drafts");
export const createDraft = (
  target: string,
  template: string | null,
  script: string | null = null,
): Promise<DraftView> => call("create_draft", { target, template, script });
export const openDraft = (id: string): Promise<DraftView> => call("open_draft", { id });
export const saveDraft = (id: string, target: string, spec: JobSpec): Promise<DraftView> =>
  call("save_draft", { id, target, spec });
export const importScript = (id: string, target: string, script: string): Promise<DraftView> =>
  call("import_script", { id, target, script });
export const deleteDraft = (id: string): Promise<void> => call("delete_draft", { id });
export const submitDraft = (id: string): Promise<JobEntry> => call("submit_draft", { id });
export const resubmitJob = (id: string): Promise<JobEntry> => call("resubmit_job", { id });
export const listJobs = (): Promise<JobEntry[]> => call("list_jobs");
export const cancelJob = (id: string): Promise<void> => call("cancel_job", { id });
export const jobLogs = (id: string): Promise<Logs> => call("job_logs", { id });

export const onJobChanged = (handler: (job: JobEntry) => void) => on("job-changed", handler);
export const jobChart = (id: string, width: number, height: number): Promise<string> =>
  call("job_chart", { id, width, height });
export const jobSparkline = (id: string): Promise<string> => call("job_sparkline", { id });
export const jobGpuSummary = (id: string): Promise<GpuSummary> => call("job_gpu_summary", { id });

export const onGpuSamples = (handler: (e: JobRef) => void) => on("gpu-samples", handler);
/** Where Save proposes to put a job's chart or samples (the person can change it). */
export const suggestExportPath = (id: string, format: ExportFormat): Promise<string> =>
  call("suggest_export_path", { id, format });
/** Saves a job's chart or samples at `path`; an existing file is left alone. */
export const exportChart = (id: string, format: ExportFormat, path: string): Promise<string> =>
  call("export_chart", { id, format, path });
export const getSettings = (): Promise<Settings> => call("get_settings");

export const updateStatus = (): Promise<UpdateStatus> => call("update_status");
export const onUpdateAvailable = (handler: (u: AvailableUpdate) => void) =>
  on("update-available", handler);
export const checkUpdate = (): Promise<AvailableUpdate | null> => call("check_update");
/** Downloads, verifies and installs the update the last check found; the app then restarts. */
export function installUpdate(onProgress: (p: UpdateDownload) => void): Promise<void> {
  const progress = new Channel<UpdateDownload>();
  progress.onmessage = onProgress;
  return call("install_update", { progress });
}
export const saveSettings = (settings: Settings): Promise<void> =>
  call("save_settings", { settings });
export const startDownload = (
  cluster: string,
  source: string,
  destination: string,
): Promise<string> => call("start_download", { cluster, source, destination });

export const onDownloadProgress = (handler: (e: Progressed) => void) =>
  on("download-progress", handler);
export const onDownloadDone = (handler: (e: TransferDone) => void) => on("download-done", handler);

export const guideAtStart = (): Promise<Guide | null> => call("guide_at_start");
export const saveGuide = (guide: Guide): Promise<void> => call("save_guide", { guide });
export const guideAddCluster = (
  place: Place,
  user: string,
  login: Login,
  publicKey: string | null,
): Promise<Guide> => call("guide_add_cluster", { place, user, login, publicKey });
/** The language Rust writes its messages in (checks, reasons, charts, notifications). */
export const setCoreLanguage = (lang: Lang): Promise<void> => call("set_language", { lang });

/** The scripts Usine was asked to open that no screen has taken yet (at start, or since). */
export const takeOpenedScripts = (): Promise<OpenedScript[]> => call("take_opened_scripts");

/** Asks for a script file in the system's dialog; it then waits to be taken, as an opened one. */
export const chooseScript = (): Promise<void> => call("choose_script");

/** Scripts wait to be taken (`takeOpenedScripts`). */
export const onOpenScript = (handler: () => void) => on("open-script", () => handler());

/** A running job whose GPUs have sat idle for the time set under Settings. */
export const onJobIdle = (handler: (job: IdleJob) => void) => on("job-idle", handler);
/** The user clicked a job's desktop notification (its id): show that job. */
export const onOpenJob = (handler: (id: string) => void) => on("open-job", handler);

/** Where a person starts browsing a cluster: home, scratch, work, project, with their room. */
export const clusterPlaces = (cluster: string): Promise<ClusterPlace[]> =>
  call("cluster_places", { cluster });
/** A page of a cluster folder; `fresh` lists it again (else scrolling reuses the listing). */
export const browseCluster = (
  cluster: string,
  path: string,
  view: FolderView,
  fresh: boolean,
): Promise<FolderPage> => call("browse_cluster", { cluster, path, view, fresh });
export const measureClusterPath = (cluster: string, path: string): Promise<PathSize> =>
  call("measure_cluster_path", { cluster, path });
export const makeClusterFolder = (cluster: string, path: string): Promise<string> =>
  call("make_cluster_folder", { cluster, path });
export const renameClusterEntry = (
  cluster: string,
  folder: string,
  name: string,
  newName: string,
  ifTaken: IfTaken,
): Promise<Moved> => call("rename_cluster_entry", { cluster, folder, name, newName, ifTaken });
export const deleteClusterPath = (cluster: string, path: string): Promise<Deleted> =>
  call("delete_cluster_path", { cluster, path });
export const previewClusterFile = (cluster: string, path: string): Promise<FilePreview> =>
  call("preview_cluster_file", { cluster, path });
export const tailClusterFile = (
  cluster: string,
  path: string,
  from: number | null,
): Promise<FileTail> => call("tail_cluster_file", { cluster, path, from });
/** The system's file dialog; the paths chosen, none when cancelled. */
export const pickPaths = (kind: PickKind): Promise<string[]> => call("pick_paths", { kind });
/** Opens (or shows in its folder) something a download of this session brought back. */
export const openOnComputer = (path: string, reveal: boolean): Promise<void> =>
  call("open_on_computer", { path, reveal });
/** Opens a site's portal or documentation page in the system browser. */
export const openLink = (url: string): Promise<void> => call("open_link", { url });
/** Files or folders dropped on the window, with where (CSS pixels). */
export const onFilesDropped = (handler: (d: Dropped) => void) => on("files-dropped", handler);

/** Whether a drop at (x, y) landed on `element` (or inside it). */
export function droppedOn(element: Element | undefined, d: Dropped): boolean {
  const hit = document.elementFromPoint(d.x, d.y);
  return !!element && !!hit && element.contains(hit);
}
/** Files or folders become the draft's input datasets (sent to its cluster first). */
export const attachInputs = (id: string, paths: string[]): Promise<InputsAttached> =>
  call("attach_inputs", { id, paths });
/** Brings a job's outputs back into its folder in Downloads, one download per output folder;
 *  progress and the ends come as download events under the ids returned. */
export const bringBackJob = (id: string): Promise<string[]> => call("bring_back_job", { id });

export const sessionKinds = (): Promise<SessionKind[]> => call("session_kinds");
/** What a session would cost and what is wrong with it, before it starts. */
export const planSession = (request: SessionRequest): Promise<SessionPlan> =>
  call("plan_session", { request });
export const startSession = (request: SessionRequest): Promise<SessionView> =>
  call("start_session", { request });
export const listSessions = (): Promise<SessionView[]> => call("list_sessions");
/** Opens the session's page in the system browser (the window never sees its token). */
export const openSession = (id: string): Promise<SessionView> => call("open_session", { id });
export const stopSession = (id: string): Promise<Stopped> => call("stop_session", { id });
export const extendSession = (id: string, minutes: number): Promise<void> =>
  call("extend_session", { id, minutes });
export const onSessionsChanged = (handler: () => void) => on("sessions-changed", () => handler());
export const forwardPort = (job: string, port: number): Promise<ForwardView> =>
  call("forward_port", { job, port });
export const listForwards = (): Promise<ForwardView[]> => call("list_forwards");
export const closeForward = (id: string): Promise<boolean> => call("close_forward", { id });
