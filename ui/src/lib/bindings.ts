// Generated from the Rust types in crates/usine-core by `ipc_types::typescript_module`.
// Do not edit: run `UPDATE_BINDINGS=1 cargo test -p usine-core ipc_types` instead.

export type Target = { 
/**
 * Stable id used by the UI and the CLI to name the target.
 */
id: string, 
/**
 * Plain-words name shown to the user.
 */
name: string, kind: TargetKind, 
/**
 * The machine's host name, as the operating system reports it.
 */
host: string, };

export type TargetKind = "thisComputer" | "cluster";

export type HostMetrics = { 
/**
 * Average busy share of all logical CPUs since the previous sample, 0–100.
 */
cpuPercent: number, cpuCount: number, memoryUsedBytes: number, memoryTotalBytes: number, 
/**
 * When the sample was taken, milliseconds since the Unix epoch (UTC).
 */
sampledAtMs: number, };

export type Site = { id: string, name: string, operator: string, 
/**
 * Login hosts; the first is the one to use.
 */
hosts: Array<string>, port: number, login: LoginMethod, 
/**
 * Where the public key is registered; empty when unknown.
 */
keyPortal: string, keyInstructions: string, gpuVendor: GpuVendor, gpuModel: string, 
/**
 * `nvidia-smi` or `rocm-smi`.
 */
gpuTool: string, partitions: Array<Partition>, 
/**
 * The site's command that prints the remaining budget; empty when unknown.
 */
budgetCommand: string, billing: string, 
/**
 * The unit the site bills in (`core-hours`, `node-hours`); empty when unknown.
 */
billingUnit: string, 
/**
 * What one GPU for one hour costs in `billing_unit`.
 */
billingPerGpuHour: number | null, 
/**
 * Where large data goes (empty where unknown).
 */
storage: Array<SiteStorageArea>, docs: string, 
/**
 * The certificate authority of the site's browser login, where it has one.
 */
certificateAuthority: CertificateAuthority | null, 
/**
 * Field names whose value no source confirmed.
 */
unconfirmed: Array<string>, };

export type Partition = { name: string, 
/**
 * What it is for, in plain words.
 */
purpose: string, };

export type SiteStorageArea = { 
/**
 * A path, or a variable the login environment sets (`$WORK`); `<project>` stands for the
 * project's name.
 */
path: string, 
/**
 * What it is for, in plain words.
 */
purpose: string, };

export type LoginMethod = "key" | "certificate" | "key-and-code";

export type GpuVendor = "nvidia" | "amd";

export type ClusterSettings = { 
/**
 * The user's name for it; unique.
 */
name: string, 
/**
 * The catalogue site it belongs to, if any.
 */
site: string | null, host: string, port: number, user: string, login: Login, jumps: Array<Jump>, 
/**
 * The site's slurmrestd, when it opens one to users (`https://…`); jobs then go through it,
 * with a short-lived token fetched over the SSH connection. `None`: Slurm over SSH.
 */
restUrl: string | null, };

export type NewCluster = { name: string, site: string | null, host: string | null, port: number | null, user: string, login: Login, jumps: Array<string>, restUrl: string | null, };

export type Login = { "method": "key", key: string, certificate: string | null, } | { "method": "agent" } | { "method": "passwordAndCode" } | { "method": "keyThenCode", key: string, } | { "method": "browser", authority: CertificateAuthority, 
/**
 * Also lend the key and certificate to the person's ssh-agent until the certificate
 * ends, for their own terminal and tools.
 */
shareWithAgent: boolean, };

export type Jump = { host: string, port: number, user: string, login: Login, };

export type ClusterView = { settings: ClusterSettings, connected: boolean, 
/**
 * From the last connection; shown offline too.
 */
profile: ClusterProfile | null, 
/**
 * The login certificate's validity, when the cluster uses one.
 */
certificate: CertificateStatus | null, 
/**
 * Where data sent to it should go ([`crate::transfer::place::suggested_folder`]).
 */
dataFolder: string, };

export type AskedQuestion = { id: number, cluster: string, question: QuestionKind, };

export type ClusterProfile = { slurmVersion: string, partitions: Array<PartitionInfo>, accounts: Array<AccountInfo>, 
/**
 * What the site's own budget command printed (`saldo -b`, `lumi-allocations`, …).
 */
budgetReport: string | null, 
/**
 * Home, and the scratch/work/project areas the site announces through the usual variables.
 */
storage: Array<StorageArea>, };

export type PartitionInfo = { name: string, isDefault: boolean, 
/**
 * GPUs per node (0 for CPU-only partitions).
 */
gpusPerNode: number, 
/**
 * Slurm's GPU type (`h100`, `a100`, …) when the site declares one.
 */
gpuType: string | null, nodes: number, 
/**
 * Longest time a job may run, in minutes; `None` when unlimited.
 */
maxTimeMinutes: number | null, available: boolean, 
/**
 * Cores of one node (the smallest node type of the partition); 0 when unknown.
 */
cpusPerNode: number, 
/**
 * Memory of one node in MiB (the smallest node type); 0 when unknown.
 */
memoryMibPerNode: number, };

export type AccountInfo = { 
/**
 * Slurm account (what sites call the project).
 */
name: string, 
/**
 * GPU-minutes the account may use in total (`GrpTRESMins=gres/gpu=…`), if limited.
 */
gpuMinutesLimit: number | null, 
/**
 * GPU-minutes already used, as Slurm counts them for that limit.
 */
gpuMinutesUsed: number | null, 
/**
 * GPUs the account may hold at once (`GrpTRES=gres/gpu=…`), if limited.
 */
maxGpusAtOnce: number | null, };

export type StorageArea = { 
/**
 * `home`, `scratch`, `work` or `project`.
 */
kind: string, path: string, freeBytes: number | null, };

export type Candidates = { clusters: Array<ClusterSettings>, notes: Array<string>, };

export type JobSpec = { version: number, 
/**
 * Short name shown in queues and used for log files (letters, digits, `.`, `_`, `-`).
 */
name: string, 
/**
 * The Slurm account ("project"); `None` lets the cluster use the user's default.
 */
account: string | null, 
/**
 * `None` lets the cluster pick its default partition.
 */
partition: string | null, nodes: number, 
/**
 * Tasks (processes) started per node; torchrun-style launchers want one.
 */
tasksPerNode: number, cpusPerTask: number, gpusPerNode: number, 
/**
 * Slurm's GPU type (`h100`, `a100`, `mi250`); `None` accepts any.
 */
gpuType: string | null, 
/**
 * Memory per node in MiB; `None` takes the partition's default.
 */
memoryMib: number | null, 
/**
 * The most the job may run; Slurm stops it afterwards.
 */
timeLimitMinutes: number, 
/**
 * Where the job starts, on the cluster; `~` is the home folder.
 */
workingDir: string, environment: Environment, 
/**
 * The user's own shell commands, run as written (they are the job).
 */
commands: string, 
/**
 * Run the commands once per index (a sweep); `None` for a single run.
 */
array: JobArray | null, 
/**
 * Datasets the job reads, on the cluster; a missing one stops the submission.
 */
inputs: Array<string>, 
/**
 * Where the job writes its results, on the cluster.
 */
outputs: Array<string>, notify: Notify, 
/**
 * Sample GPU use while the job runs (on by default for GPU jobs).
 */
recordGpuMetrics: boolean, 
/**
 * `#SBATCH` lines Usine does not model, kept verbatim from an imported script.
 */
extraDirectives: Array<string>, };

export type Environment = { 
/**
 * Environment modules to load (`module load …`), in order.
 */
modules: Array<string>, 
/**
 * An Apptainer/Singularity image (`.sif` path or `docker://…`); the commands run inside it.
 */
container: string | null, python: PythonEnv | null, 
/**
 * Variables exported before the commands run.
 */
variables: Array<EnvVar>, };

export type PythonEnv = { "kind": "venv", "path": string } | { "kind": "conda", "path": string };

export type EnvVar = { name: string, value: string, };

export type JobArray = { first: number, last: number, 
/**
 * At most this many tasks at once; `None` lets Slurm decide.
 */
maxParallel: number | null, };

export type Notify = { 
/**
 * Desktop notifications from the app.
 */
onStart: boolean, onEnd: boolean, onFailure: boolean, 
/**
 * Also ask Slurm to e-mail this address (when the site sends mail).
 */
email: string | null, };

export type Template = { id: string, title: string, summary: string, 
/**
 * Field name (as in the spec) → what to choose and why.
 */
help: { [key in string]: string }, spec: JobSpec, };

export type Problem = { 
/**
 * The spec field the problem is about (`partition`, `timeLimitMinutes`, …).
 */
field: string, severity: Severity, 
/**
 * What is wrong and what to do, in plain words.
 */
message: string, };

export type Severity = "blocker" | "warning";

export type CostEstimate = { 
/**
 * GPU-hours if the job runs to its time limit (every array task included).
 */
gpuHours: number, 
/**
 * The same in the site's billing unit, when the catalogue knows it.
 */
billed: number | null, billingUnit: string | null, 
/**
 * GPU-hours the project has left, when the cluster reports a limit.
 */
gpuHoursLeft: number | null, };

export type Draft = { id: string, 
/**
 * A cluster name, or `this-computer`.
 */
target: string, template: string | null, spec: JobSpec, updatedAt: string, 
/**
 * Why the cluster refused the last job sent from this draft; `None` once one was accepted
 * (or none was sent).
 */
refusedBecause: string | null, };

export type DraftView = { draft: Draft, problems: Array<Problem>, cost: CostEstimate, 
/**
 * The sbatch script, when the spec can be written as one.
 */
script: string | null, 
/**
 * Why it cannot, in plain words.
 */
scriptError: string | null, };

export type InputsAttached = { view: DraftView, 
/**
 * Started (or continued) uploads, to run; none on this computer.
 */
uploads: Array<UploadStarted>, };

export type JobEntry = { 
/**
 * Usine's id for the job; it also tags the submission on the cluster.
 */
id: string, target: string, spec: JobSpec, script: string, 
/**
 * Slurm's job id (or this computer's run id); `None` while waiting in the outbox.
 */
schedulerId: string | null, state: JobState, record: JobRecord | null, 
/**
 * Why a pending job waits, in plain words (from Slurm's reason).
 */
waitingBecause: string | null, 
/**
 * Why the cluster refused the job when the outbox sent it (the job is then failed).
 */
refusedBecause: string | null, 
/**
 * Why a failed job failed, in plain words, when its exit code does not say.
 */
failedBecause: string | null, createdAt: string, updatedAt: string, 
/**
 * It will not change any more (ended one way or another): the UI only reads this.
 */
finished: boolean, 
/**
 * Usine follows what it uses while it runs ([`crate::gpu::watch::followed`]).
 */
followsUse: boolean, };

export type JobRecord = { 
/**
 * `123`, or `123_4` for task 4 of array job 123.
 */
jobId: string, name: string, state: JobState, 
/**
 * Why a pending job waits (Slurm's word, translated by [`pending_reason`]).
 */
reason: string | null, partition: string, account: string, submitted: string | null, started: string | null, ended: string | null, elapsedSeconds: number | null, timeLimitMinutes: number | null, nodes: number | null, nodeList: string, 
/**
 * GPUs the job holds (all nodes together), when Slurm says.
 */
gpus: number | null, exitCode: number | null, comment: string, 
/**
 * Why a failed job failed, in plain words, when its exit code does not say (Slurm could
 * not start it, say, because its output file cannot be written).
 */
failure: string | null, };

export type JobState = "queued" | "pending" | "running" | "completing" | "suspended" | "completed" | "failed" | "cancelled" | "timeout" | "outOfMemory" | "nodeFail" | "preempted" | { "other": string };

export type Logs = { 
/**
 * The last part of the job's output.
 */
stdout: string, stderr: string, };

export type GpuSummary = { gpus: number, samples: number, 
/**
 * Mean utilization over every GPU and sample, 0–100.
 */
meanUtilization: number | null, 
/**
 * GPU-hours covered by samples.
 */
gpuHours: number, 
/**
 * GPU-hours during which a GPU was under `idle_below` per cent busy.
 */
idleGpuHours: number, 
/**
 * The newest sample's time (ms since the epoch).
 */
lastSampleMs: number | null, 
/**
 * Readings of the job's processes on this computer (none for a job on a cluster).
 */
cpuSamples: number, 
/**
 * Their mean share of this computer's CPUs, 0–100.
 */
meanCpuPercent: number | null, 
/**
 * The node had no GPU tool (nvidia-smi, rocm-smi, amd-smi): no GPU sample will come.
 */
noGpuTool: boolean, };

export type Settings = { 
/**
 * A GPU under this share busy counts as idle (per cent).
 */
idleBelowPercent: number, 
/**
 * Warn when every GPU of a job has been idle this long (minutes).
 */
idleMinutes: number, 
/**
 * GPU samples older than this are deleted (days).
 */
gpuRetentionDays: number, };

export type Guide = { "step": "factory" } | { "step": "user", place: Place, } | { "step": "login", place: Place, user: string, } | { "step": "register", cluster: string, key: string | null, } | { "step": "connect", cluster: string, } | { "step": "discovered", cluster: string, } | { "step": "finished", cluster: string | null, };

export type Lang = "en" | "fr";

export type Place = { "kind": "site", id: string, } | { "kind": "custom", name: string, host: string, port: number, };

export type TransferSummary = { id: string, cluster: string, direction: TransferDirection, 
/**
 * This computer's side: the file or folder sent (up), the folder chosen to receive (down),
 * or the folder whose items were picked together (up, `picked` > 0).
 */
localRoot: string, 
/**
 * How many items of `local_root` were picked or dropped together; 0: all of it.
 */
picked: number, 
/**
 * The cluster's side: the folder files go into (up), the file or folder brought back (down).
 */
remoteRoot: string, state: TransferState, createdAt: string, files: number, verified: number, bytes: number, bytesConfirmed: number, };

export type TransferProgress = { bytesDone: number, bytesTotal: number, filesDone: number, filesTotal: number, current: string | null, };

export type TransferReport = { transferId: string, files: number, verified: number, 
/**
 * Bytes sent over the network in this run (re-sent bytes after a resume included).
 */
bytesSent: number, 
/**
 * Bytes the cluster already held from an earlier run, not sent again.
 */
bytesSkipped: number, problems: Array<FileProblem>, 
/**
 * Where the files are now: the folder on the cluster (upload) or here (download).
 */
place: string, };

export type UploadStarted = { id: string, 
/**
 * Where the file or folder lands on the cluster ([`place::on_cluster`]).
 */
place: string, 
/**
 * What cannot be sent (links, unreadable files, odd names).
 */
problems: Array<FileProblem>, 
/**
 * Set when an unfinished upload of the same source to the same place is continued: what
 * the cluster had already confirmed of it.
 */
continued: TransferSummary | null, };

export type TransferDirection = "up" | "down";

export type TransferState = "running" | "paused" | "interrupted" | "failed" | "done" | "cancelled";

export type TransferFileState = "waiting" | "partly" | "verified" | "alreadyThere" | "problem";

export type TransferFile = { 
/**
 * As a person reads it (`names::shown`): a name that is not text shows its bytes as `\xNN`.
 */
path: string, size: number, 
/**
 * Bytes of it that arrived and were confirmed.
 */
done: number, state: TransferFileState, problem: string | null, };

export type TransferFiles = { total: number, 
/**
 * How many files of the whole transfer had a problem in its last run.
 */
problems: number, files: Array<TransferFile>, };

export type TransferCancelled = { id: string, 
/**
 * Files this transfer had written that were deleted (none when only cancelled).
 */
deleted: number, bytesDeleted: number, 
/**
 * What could not be deleted, and why.
 */
problems: Array<FileProblem>, };

export type ExportFormat = "png" | "svg" | "csv";

export type ErrorKind = "offline" | "refused" | "needsYou" | "notFound" | "invalid" | "busy" | "local";

export type SessionRequest = { kind: string, target: string, 
/**
 * TensorBoard's folder of event files (`~` is the home).
 */
folder: string | null, 
/**
 * The web app's own command.
 */
command: string | null, gpus: number | null, gpuType: string | null, cpus: number | null, timeLimitMinutes: number | null, partition: string | null, account: string | null, 
/**
 * Modules, Python environment, container: where the server is installed.
 */
environment: Environment, workingDir: string | null, };

export type SessionView = { 
/**
 * The job's id in Usine.
 */
id: string, kind: string, title: string, target: string, job: JobEntry, 
/**
 * Running, and its server answered (its connection file was read).
 */
ready: boolean, 
/**
 * While it waits: where it stands in its partition's queue (from the last look).
 */
place: QueuePlace | null, 
/**
 * Minutes before Slurm ends it, while it runs.
 */
minutesLeft: number | null, gpus: number, 
/**
 * GPU-hours spent so far (all of them once it ended).
 */
gpuHours: number, 
/**
 * The way in from this computer, while open in this process.
 */
forward: ForwardView | null, };

export type SessionPlan = { spec: JobSpec, problems: Array<Problem>, cost: CostEstimate, };

export type Stopped = { gpuHours: number, };

export type QueuePlace = { 
/**
 * Pending jobs of the same partition before it, in Slurm's order (priority, then age).
 * Sites that hide other users' jobs show fewer: then it is "at least".
 */
ahead: number, 
/**
 * Slurm's estimate, as it prints it (the cluster's local time, `2026-12-03T14:30:00`).
 */
expectedStart: string | null, };

export type SessionKind = { id: string, title: string, summary: string, asks: Asks | null, 
/**
 * Resources and time a session of this kind starts from.
 */
spec: JobSpec, };

export type Asks = "folder" | "command";

export type ForwardView = { 
/**
 * Usine's id for the forward (the job's for a session).
 */
id: string, cluster: string, 
/**
 * Slurm's job id.
 */
job: string, node: string, port: number, 
/**
 * The port on 127.0.0.1 that reaches it.
 */
localPort: number, route: Route, };

export type Route = { "kind": "direct" } | { "kind": "relay", program: string, };

export type AppEvent = { "name": "host-metrics", "payload": HostMetrics } | { "name": "ssh-question", "payload": AskedQuestion } | { "name": "cluster-state", "payload": ClusterStateEvent } | { "name": "transfer-progress", "payload": Progressed } | { "name": "transfer-done", "payload": TransferDone } | { "name": "download-progress", "payload": Progressed } | { "name": "download-done", "payload": TransferDone } | { "name": "job-changed", "payload": JobEntry } | { "name": "gpu-samples", "payload": JobRef } | { "name": "job-idle", "payload": IdleJob } | { "name": "open-job", "payload": string } | { "name": "open-script" } | { "name": "update-available", "payload": AvailableUpdate } | { "name": "files-dropped", "payload": Dropped } | { "name": "certificate", "payload": WalletEvent } | { "name": "sessions-changed" };

export type ClusterStateEvent = { cluster: string, state: ConnectionState, };

export type Progressed = { id: string, progress: TransferProgress, };

export type TransferDone = { id: string, report: TransferReport | null, error: string | null, 
/**
 * Stopped by the person; Resume continues it.
 */
paused: boolean, };

export type JobRef = { id: string, };

export type IdleJob = { id: string, name: string, gpus: number, 
/**
 * Under this share of busy time (per cent)…
 */
below: number, 
/**
 * …for this many minutes.
 */
minutes: number, };

export type AvailableUpdate = { version: string, notes: string | null, };

export type FileProblem = { path: string, problem: string, };

export type QuestionKind = { "kind": "unknownHostKey", host: string, port: number, algorithm: string, fingerprint: string, } | { "kind": "keyboardInteractive", destination: string, name: string, instructions: string, prompts: Array<Prompt>, } | { "kind": "keyPassphrase", keyPath: string, } | { "kind": "password", destination: string, } | { "kind": "browserLogin", destination: string, url: string, code: string | null, };

export type Prompt = { text: string, 
/**
 * Whether the answer may be shown while typed (false for passwords and codes).
 */
echo: boolean, };

export type CertificateStatus = { state: CertificateState, 
/**
 * End of validity, seconds since the Unix epoch (UTC).
 */
validBefore: number, };

export type CertificateAuthority = { "protocol": "stepCa", caUrl: string, 
/**
 * SHA-256 of the CA's root certificate, as the site publishes it.
 */
fingerprint: string, provisioner: string, } | { "protocol": "sshca", 
/**
 * The CA's address, with its name (`https://…/{ca}`).
 */
caUrl: string, issuer: string, clientId: string, resource: string, } | { "protocol": "signingService", signUrl: string, issuer: string, clientId: string, 
/**
 * As the service names its durations (`1d`, `1min`).
 */
duration: string, };

export type WalletEvent = { "kind": "renewed", cluster: string, validBefore: number, } | { "kind": "loginNeeded", cluster: string, validBefore: number, };

export type GeneratedKey = { privatePath: string, publicPath: string, 
/**
 * The line to paste into the site's portal.
 */
publicOpenssh: string, fingerprint: string, 
/**
 * Whether the keychain holds the passphrase (false: the user must remember it).
 */
passphraseInKeychain: boolean, };

export type CertificateState = "valid" | "expiresSoon" | "expired" | "notYetValid";

export type ConnectionState = { "state": "connecting" } | { "state": "waitingForUser" } | { "state": "connected" } | { "state": "reconnecting", attempt: number, of: number, } | { "state": "offline", reason: string, why: OfflineWhy, };

export type OfflineWhy = "unreachable" | "loginRefused" | "dropped";

export type ClusterPlace = { 
/**
 * `home`, `scratch`, `work` or `project`.
 */
kind: string, path: string, shown: string, freeBytes: number | null, 
/**
 * What the tightest quota there leaves, and whose it is (`user alice`), on Lustre.
 */
quotaLeftBytes: number | null, quotaOwner: string | null, };

export type ClusterEntry = { 
/**
 * Its name, carrying its exact bytes ([`names::encode`]): send it back as it is.
 */
name: string, 
/**
 * How to show the name when that differs from `name` (bytes that are not text, control
 * characters).
 */
shown: string | null, kind: EntryKind, size: number, 
/**
 * Last modification, seconds since 1970.
 */
modified: number, 
/**
 * Whether the person logged in owns it.
 */
yours: boolean, };

export type EntryKind = "folder" | "file" | "linkToFolder" | "linkToFile" | "brokenLink" | "other";

export type FolderView = { sort: SortBy, descending: boolean, showHidden: boolean, offset: number, limit: number, };

export type SortBy = "name" | "size" | "modified";

export type FolderPage = { path: string, shown: string, crumbs: Array<Crumb>, entries: Array<ClusterEntry>, 
/**
 * Entries in the view (hidden ones counted only when shown).
 */
total: number, offset: number, hidden: number, skipped: number, };

export type Crumb = { shown: string, 
/**
 * The path to open when it is clicked ([`names::encode`]d).
 */
path: string, };

export type PathSize = { files: number, folders: number, bytes: number, 
/**
 * Entries inside that belong to someone else.
 */
notYours: number, };

export type IfTaken = "ask" | "replace";

export type Moved = { "outcome": "done", path: string, } | { "outcome": "taken", path: string, shown: string, };

export type Deleted = { shown: string, size: PathSize, };

export type FilePreview = { "kind": "text", text: string, 
/**
 * The file is longer than what is shown.
 */
cut: boolean, size: number, } | { "kind": "table", rows: Array<Array<string>>, cut: boolean, size: number, } | { "kind": "image", 
/**
 * A `data:` URL the window can show without any file access.
 */
url: string, size: number, } | { "kind": "other", size: number, };

export type FileTail = { text: string, 
/**
 * Where this text starts and ends in the file: pass `to` as the next `from`.
 */
from: number, to: number, 
/**
 * The file was shorter than `from` (rewritten): this text starts again from its end.
 */
restarted: boolean, };

export type Dropped = { paths: Array<string>, x: number, y: number, };

export type PickKind = "filesToSend" | "folderToSend" | "downloadInto" | "script" | "keyFile";

/** The target that runs jobs on this computer. */
export const THIS_COMPUTER = "this-computer";
