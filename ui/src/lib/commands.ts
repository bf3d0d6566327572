// Generated from the #[tauri::command] signatures in src-tauri by `ipc_contract`.
// Do not edit: run `UPDATE_BINDINGS=1 cargo test -p usine-app ipc_contract` instead.
import type { Channel } from "@tauri-apps/api/core";
import type { AvailableUpdate, Candidates, CertificateStatus, ClusterPlace, ClusterProfile, ClusterView, Deleted, Draft, DraftView, ExportFormat, FilePreview, FileTail, FolderPage, FolderView, ForwardView, GeneratedKey, GpuSummary, Guide, IfTaken, InputsAttached, JobEntry, JobSpec, Lang, Login, Logs, Moved, NewCluster, PathSize, PickKind, Place, SessionKind, SessionPlan, SessionRequest, SessionView, Settings, Site, Stopped, Target, Template, TransferCancelled, TransferFiles, TransferSummary, UploadStarted } from "./bindings";

export type QuestionAnswer = { "kind": "trust" } | { "kind": "texts", texts: Array<string>, } | { "kind": "cancel" };

export type OpenedScript = { path: string, 
/**
 * The script, or why it cannot be read.
 */
text: string | null, error: string | null, };

export type UpdateStatus = { 
/**
 * Whether this copy can update itself.
 */
enabled: boolean, current: string, 
/**
 * What an earlier check (the one at start, say) found and is not installed yet.
 */
found: AvailableUpdate | null, };

export type UpdateDownload = { bytes: number, total: number | null, };

/** Every command: its arguments (as sent) and what it answers. */
export type Commands = {
  this_computer: { args: Record<string, never>; result: Target };
  list_sites: { args: Record<string, never>; result: Array<Site> };
  list_clusters: { args: Record<string, never>; result: Array<ClusterView> };
  add_cluster: { args: { cluster: NewCluster }; result: void };
  import_cluster: { args: { alias: string }; result: void };
  ssh_config_candidates: { args: Record<string, never>; result: Candidates };
  generate_key: { args: { comment: string }; result: GeneratedKey };
  list_transfers: { args: Record<string, never>; result: Array<TransferSummary> };
  transfer_files: { args: { id: string; offset: number; limit: number }; result: TransferFiles };
  upload_place: { args: { source: string; into: string }; result: string };
  download_place: { args: { remote: string; into: string }; result: string };
  start_upload: { args: { cluster: string; sources: Array<string>; into: string; byChecksum: boolean }; result: Array<UploadStarted> };
  start_download: { args: { cluster: string; source: string; destination: string }; result: string };
  bring_back_job: { args: { id: string }; result: Array<string> };
  resume_transfer: { args: { id: string }; result: void };
  pause_transfer: { args: { id: string }; result: void };
  cancel_transfer: { args: { id: string; deleteSent: boolean }; result: TransferCancelled };
  cluster_places: { args: { cluster: string }; result: Array<ClusterPlace> };
  browse_cluster: { args: { cluster: string; path: string; view: FolderView; fresh: boolean }; result: FolderPage };
  measure_cluster_path: { args: { cluster: string; path: string }; result: PathSize };
  make_cluster_folder: { args: { cluster: string; path: string }; result: string };
  rename_cluster_entry: { args: { cluster: string; folder: string; name: string; newName: string; ifTaken: IfTaken }; result: Moved };
  delete_cluster_path: { args: { cluster: string; path: string }; result: Deleted };
  preview_cluster_file: { args: { cluster: string; path: string }; result: FilePreview };
  tail_cluster_file: { args: { cluster: string; path: string; from: number | null }; result: FileTail };
  pick_paths: { args: { kind: PickKind }; result: Array<string> };
  open_on_computer: { args: { path: string; reveal: boolean }; result: void };
  open_link: { args: { url: string }; result: void };
  forget_cluster: { args: { name: string }; result: void };
  connect_cluster: { args: { name: string }; result: ClusterProfile };
  log_in_again: { args: { name: string }; result: CertificateStatus | null };
  answer_question: { args: { id: number; answer: QuestionAnswer }; result: void };
  list_templates: { args: Record<string, never>; result: Array<Template> };
  first_job_template: { args: { target: string }; result: string };
  list_drafts: { args: Record<string, never>; result: Array<Draft> };
  create_draft: { args: { target: string; template: string | null; script: string | null }; result: DraftView };
  open_draft: { args: { id: string }; result: DraftView };
  save_draft: { args: { id: string; target: string; spec: JobSpec }; result: DraftView };
  attach_inputs: { args: { id: string; paths: Array<string> }; result: InputsAttached };
  import_script: { args: { id: string; target: string; script: string }; result: DraftView };
  delete_draft: { args: { id: string }; result: void };
  submit_draft: { args: { id: string }; result: JobEntry };
  resubmit_job: { args: { id: string }; result: JobEntry };
  list_jobs: { args: Record<string, never>; result: Array<JobEntry> };
  cancel_job: { args: { id: string }; result: void };
  job_logs: { args: { id: string }; result: Logs };
  job_chart: { args: { id: string; width: number; height: number }; result: string };
  job_gpu_summary: { args: { id: string }; result: GpuSummary };
  job_sparkline: { args: { id: string }; result: string };
  suggest_export_path: { args: { id: string; format: ExportFormat }; result: string };
  export_chart: { args: { id: string; format: ExportFormat; path: string }; result: string };
  get_settings: { args: Record<string, never>; result: Settings };
  save_settings: { args: { settings: Settings }; result: void };
  set_language: { args: { lang: Lang }; result: void };
  take_opened_scripts: { args: Record<string, never>; result: Array<OpenedScript> };
  choose_script: { args: Record<string, never>; result: void };
  guide_at_start: { args: Record<string, never>; result: Guide | null };
  save_guide: { args: { guide: Guide }; result: void };
  guide_add_cluster: { args: { place: Place; user: string; login: Login; publicKey: string | null }; result: Guide };
  session_kinds: { args: Record<string, never>; result: Array<SessionKind> };
  plan_session: { args: { request: SessionRequest }; result: SessionPlan };
  start_session: { args: { request: SessionRequest }; result: SessionView };
  list_sessions: { args: Record<string, never>; result: Array<SessionView> };
  open_session: { args: { id: string }; result: SessionView };
  stop_session: { args: { id: string }; result: Stopped };
  extend_session: { args: { id: string; minutes: number }; result: void };
  forward_port: { args: { job: string; port: number }; result: ForwardView };
  list_forwards: { args: Record<string, never>; result: Array<ForwardView> };
  close_forward: { args: { id: string }; result: boolean };
  update_status: { args: Record<string, never>; result: UpdateStatus };
  check_update: { args: Record<string, never>; result: AvailableUpdate | null };
  install_update: { args: { progress: Channel<UpdateDownload> }; result: void };
};
