// End-to-end: the real Usine binary in its real WebView (WebKitGTK), driven through tauri-driver
// and WebKitWebDriver. Run under a display, e.g. `xvfb-run -a node --test app.e2e.mjs`.
//   USINE_APP      absolute path of the app binary built with embedded assets (required)
//   E2E_OUT        folder for screenshots (default: ./out)
//   USINE_LAB_ENV  the lab's settings (default /var/lib/usine-lab/client/lab.env), for the
//                  cluster test, which logs in to the lab's sshd with a one-time code
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  appLog,
  printLogProblems,
  running,
  startDriver,
  stopApp,
  writeLauncher,
} from "./session.mjs";

const app = process.env.USINE_APP;
const out = path.resolve(process.env.E2E_OUT ?? "out");

let driver;
let notifier;
let browser;
let home;
/** When the app was first started: the newcomer's clock starts here. */
let launchedAt;
/** What the newcomer did by hand, counted by `tap` and `fill`. */
const effort = { clicks: 0, typed: 0 };

before(async () => {
  assert.ok(app && path.isAbsolute(app), "set USINE_APP to the absolute path of the app binary");
  mkdirSync(out, { recursive: true });
  // A fresh home and data folder: no known hosts, no clusters, as on a first start.
  home = mkdtempSync(path.join(os.tmpdir(), "usine-e2e-"));
  // A real notification daemon on the same session bus; its history is what the user saw.
  notifier = spawn("dunst", [], { stdio: "ignore" });
  driver = await startDriver(writeLauncher(app, home));
  launchedAt = Date.now();
  browser = await driver.open();
});

after(async () => {
  await browser?.deleteSession().catch(() => {});
  driver?.stop();
  notifier?.kill("SIGTERM");
  await stopApp(app);
  if (home) printLogProblems(home);
});

// The measure of onboarding: a newcomer with a one-time code, from the first launch to a first
// job running with its GPU chart, through the guides only (no documentation, no sidebar).
test("first launch: the guide takes a one-time-code user to a running first job and its GPUs", async () => {
  const lab = labSettings();
  const guide = await browser.$("[data-guide-step]");
  await guide.waitForExist({
    timeout: 15_000,
    timeoutMsg: "the first start did not open the guide",
  });
  assert.equal(await guide.getAttribute("data-guide-step"), "factory");
  const step = async (name) =>
    browser.waitUntil(async () => (await guide.getAttribute("data-guide-step")) === name, {
      timeout: 10_000,
      timeoutMsg: `the guide did not reach "${name}"`,
    });
  // The catalogue's AI Factories are offered first.
  await (await browser.$('input[name="factory"][value="lumi"]')).waitForExist({ timeout: 5_000 });
  await browser.saveScreenshot(path.join(out, "guide-factory.png"));
  await tap('input[name="factory"][value="custom"]');
  // The guide's cluster "lab" is the lab's Slurm 24.11 cluster (its own login node), so the
  // newcomer's jobs run on a modern Slurm; the Clusters form below adds the 22.05 one.
  await fill('input[name="name"]', "lab");
  await fill('input[name="host"]', lab.USINE_LAB_HOST);
  await fill('input[name="port"]', lab.USINE_LAB24_SSH_PORT);
  await tap('[data-action="next"]');
  await step("user");
  await fill('input[name="user"]', lab.USINE_LAB_OTP_USER);
  await tap('[data-action="next"]');
  await step("login");
  await tap('input[name="keyChoice"][value="code"]');
  await tap('[data-action="next"]');
  await step("register");
  await tap('[data-action="next"]');
  await step("connect");
  await tap('[data-action="login"]');
  const hostKey = await browser.$('[data-question="unknownHostKey"]');
  await hostKey.waitForExist({ timeout: 10_000 }).catch(async (e) => {
    await browser.saveScreenshot(path.join(out, "guide-failure.png"));
    throw new Error(`no host-key dialog: ${e}; the guide says: ${await guide.getText()}`);
  });
  assert.match(await hostKey.$("[data-fingerprint]").getText(), /^SHA256:/);
  await tap(hostKey.$("button[type=submit]"));
  await answerPasswordAndCode(lab);
  await step("discovered");
  const account = await browser.$(`[data-discovered] [data-account="${lab.USINE_LAB_ACCOUNT}"]`);
  assert.match(await account.getText(), /\d+([.,]\d+)? GPU hours left/);
  await browser.saveScreenshot(path.join(out, "guide-discovered.png"));
  await tap('[data-action="firstJob"]');

  // The first-job guide: the first template, data from this computer, the cost, send.
  const firstJob = await browser.$("[data-first-job-step]");
  await firstJob.waitForExist({ timeout: 5_000 });
  assert.equal(
    await (await browser.$('input[name="template"][value="first-gpu-job"]')).isSelected(),
    true,
  );
  await tap('[data-action="next"]');
  await browser.waitUntil(
    async () => (await firstJob.getAttribute("data-first-job-step")) === "data",
  );
  // With data, written as a newcomer writes it: a folder of the home, with `~`. It must land in
  // the cluster's home (not in a folder named `~`), or the cluster refuses the job, whose input
  // Usine checks there before sending it.
  const cats = path.join(home, "datasets", "cats");
  mkdirSync(cats, { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(path.join(cats, `cat-${i}.txt`), `meow ${i}\n`);
  await tap('input[name="data"][value="yes"]');
  await fill('input[name="source"]', "~/datasets/cats");
  // The place is worked out as the person types: wait for the last letter to reach it.
  await browser.waitUntil(
    async () => /It goes to ~\/datasets\/cats on the cluster/.test(await firstJob.getText()),
    { timeout: 5_000, timeoutMsg: `not the expected place: ${await firstJob.getText()}` },
  );
  await tap("button=Send it");
  await (
    await browser.$("p=Sent and checked.")
  ).waitForExist({
    timeout: 30_000,
    timeoutMsg: `the data was not sent: ${await firstJob.getText()}`,
  });
  await tap('[data-action="next"]');
  const ready = await browser.$("[data-ready]");
  await ready.waitForExist({
    timeout: 5_000,
    timeoutMsg: `the first job is not ready: ${await firstJob.getText()}`,
  });
  // Partition and account were filled from what the cluster offers.
  assert.match(await (await browser.$("[data-cost]")).getText(), /Up to 0\.17 GPU hours/);
  assert.match(
    await firstJob.getText(),
    new RegExp(`gpu machines, paid by ${lab.USINE_LAB_ACCOUNT}`),
  );
  await browser.saveScreenshot(path.join(out, "first-job-cost.png"));
  await tap('[data-action="submit"]');

  // It lands on the job itself: running, then its GPUs on the chart.
  const detail = await browser.$("[data-detail] [data-badge]");
  await detail.waitForExist({ timeout: 5_000 }).catch(async () => {
    await browser.saveScreenshot(path.join(out, "first-job-failure.png"));
    throw new Error(
      `the job's own view did not open: ${await (await browser.$("main")).getText()}`,
    );
  });
  await browser.waitUntil(async () => (await detail.getAttribute("data-badge")) === "running", {
    timeout: 60_000,
    timeoutMsg: "the first job did not start",
  });
  const running = (Date.now() - launchedAt) / 1000;
  const chart = await browser.$("[data-detail] [data-gpu-chart]");
  await browser.waitUntil(
    async () => (await chart.isExisting()) && Number(await chart.getAttribute("data-samples")) >= 1,
    { timeout: 60_000, timeoutMsg: "the first job's GPUs never reached the chart" },
  );
  const seen = (Date.now() - launchedAt) / 1000;
  console.log(
    `newcomer (one-time code): ${effort.clicks} clicks and ${effort.typed} fields typed; ` +
      `first job running ${running.toFixed(1)} s after the first launch, its GPUs on the chart after ${seen.toFixed(1)} s`,
  );
  await browser.saveScreenshot(path.join(out, "first-job-running.png"));
  // The job read the data sent in the guide, on the cluster ($DATA is ~/datasets/cats there),
  // and finishes by itself.
  const output = await browser.$('[data-detail] [data-logs="stdout"]');
  await browser.waitUntil(async () => /Your data: 3 files in /.test(await output.getText()), {
    timeout: 60_000,
    timeoutMsg: `the first job did not read the data sent: ${await output.getText()}`,
  });
  await browser.waitUntil(async () => (await detail.getAttribute("data-badge")) === "completed", {
    timeout: 150_000,
    timeoutMsg: "the first job did not finish",
  });
  assert.match(await output.getText(), /Your data: 3 files in \/home\/bob\/datasets\/cats/);
});

test("Home shows This computer with live CPU and memory figures", async () => {
  await (await browser.$('nav button[data-screen="home"]')).click();
  const started = Date.now();
  const card = await browser.$('[data-target-id="this-computer"]');
  await card.waitForExist({ timeout: 15_000 });
  assert.equal(await card.$("h2").getText(), "This computer");

  const cpu = card.$('[data-metric="cpu"]');
  await browser.waitUntil(async () => /\d+[.,]\d %/.test(await cpu.getText()), {
    timeout: 10_000,
    timeoutMsg: "no CPU figure within 10 s",
  });
  console.log(`first CPU figure ${Date.now() - started} ms after the session started`);
  assert.match(await cpu.getText(), /\d+ CPUs/);
  assert.match(await card.$('[data-metric="memory"]').getText(), /\d.* \/ \d/);

  // Live: a newer sample must replace the first one (Rust pushes one about every second).
  const first = Number(await card.getAttribute("data-sampled-at"));
  await browser.waitUntil(async () => Number(await card.getAttribute("data-sampled-at")) > first, {
    timeout: 5_000,
    timeoutMsg: "the CPU figure was not refreshed within 5 s",
  });
  await browser.saveScreenshot(path.join(out, "home.png"));
});

test("the sidebar reaches every section and comes back Home", async () => {
  const sections = ["Drafts", "Jobs", "Data", "Monitor", "Clusters", "Settings"];
  for (const name of sections) {
    const button = await browser.$(`nav button[data-screen="${name.toLowerCase()}"]`);
    await button.click();
    const heading = await browser.$("main h1");
    await browser.waitUntil(async () => (await heading.getText()) === name, {
      timeout: 3_000,
      timeoutMsg: `the ${name} section did not open`,
    });
    assert.equal(await button.getAttribute("aria-current"), "page");
  }
  await (await browser.$('nav button[data-screen="home"]')).click();
  await (await browser.$('[data-target-id="this-computer"]')).waitForExist({ timeout: 3_000 });
});

function labSettings() {
  const file = process.env.USINE_LAB_ENV ?? "/var/lib/usine-lab/client/lab.env";
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes("=") && !l.startsWith("#"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

async function fill(selector, value) {
  const input = await browser.$(selector);
  await input.clearValue();
  await input.setValue(value);
  effort.typed++;
}

/** A time limit as a person types it: a number and its unit (minutes or hours). */
async function setTimeLimit(value, unit) {
  await (await browser.$('select[name="timeUnit"]')).selectByAttribute("value", unit);
  await fill('input[name="timeLimit"]', value);
}

/** A click the user makes, counted for the newcomer's measure. */
async function tap(selector) {
  const element = typeof selector === "string" ? await browser.$(selector) : selector;
  await element.click();
  effort.clicks++;
}

/** Answers the lab's own prompts as a person would, one round each: password, then the code. */
async function answerPasswordAndCode(lab) {
  for (let round = 0; round < 2; round++) {
    const dialog = await browser.$('[data-question="keyboardInteractive"]');
    await dialog.waitForExist({ timeout: 10_000 });
    const label = await dialog.$("label").getText();
    const answer = /assword/.test(label)
      ? lab.USINE_LAB_OTP_PASSWORD
      : execFileSync("oathtool", ["--totp", "-b", lab.USINE_LAB_TOTP_SECRET]).toString().trim();
    await dialog.$('input[data-prompt="0"]').setValue(answer);
    effort.typed++;
    await tap(dialog.$("button[type=submit]"));
    await browser.waitUntil(
      async () =>
        !(await dialog.isExisting()) || !(await dialog.$("label").getText()).includes(label.trim()),
      { timeout: 5_000 },
    );
  }
}

test("the Clusters form adds a cluster by hand (a key file) and shows what it offers", async () => {
  const lab = labSettings();
  await (await browser.$('nav button[data-screen="clusters"]')).click();
  await fill('form.add input[name="name"]', "lab-form");
  await fill('form.add input[name="host"]', lab.USINE_LAB_HOST);
  await fill('form.add input[name="port"]', lab.USINE_LAB_SSH_PORT);
  await fill('form.add input[name="user"]', lab.USINE_LAB_KEY_USER);
  await (await browser.$('form.add input[value="key"]')).click();
  await fill('form.add input[name="key"]', lab.USINE_LAB_KEY);
  await (await browser.$("form.add button[type=submit]")).click();

  const card = await browser.$('[data-cluster="lab-form"]');
  await card.waitForExist({ timeout: 5_000 });
  await card.$("button.primary").click();
  // Another port of the same machine is another host to SSH (as to OpenSSH): asked once.
  const hostKey = await browser.$('[data-question="unknownHostKey"]');
  await hostKey.waitForExist({
    timeout: 10_000,
    timeoutMsg: "no host-key question for a new port",
  });
  await tap(hostKey.$("button[type=submit]"));
  const badge = card.$(".badge");
  await browser.waitUntil(async () => (await badge.getAttribute("data-state")) === "connected", {
    timeout: 20_000,
    timeoutMsg: `the cluster did not become connected: ${await card.getText()}`,
  });
  assert.equal(await badge.getText(), "Connected");
  assert.match(await card.$('[data-partition="gpu"]').getText(), /4 × h100 GPUs per node/);
  assert.match(
    await card.$(`[data-account="${lab.USINE_LAB_SPENT_ACCOUNT}"]`).getText(),
    /\d+(\.\d+)? GPU hours left/,
  );
  await browser.execute(() => window.scrollTo(0, 0));
  await browser.saveScreenshot(path.join(out, "clusters.png"));
  // Gone again, so that the next screens show the guide's cluster only.
  await card.$("button=Forget").click();
  await card.waitForExist({ reverse: true, timeout: 5_000 });
});

test("a newcomer without a key gets one, with the public key ready to copy", async () => {
  // Needs a keychain for the generated passphrase: make test runs this under with-keychain.sh.
  await (await browser.$('nav button[data-screen="clusters"]')).click();
  await (await browser.$('form.add input[value="key"]')).click();
  await (await browser.$("form.add button.link")).click();
  const made = await browser.$("[data-generated-key]");
  await made.waitForExist({
    timeout: 10_000,
    timeoutMsg: "no key was made (is a keychain running? see scripts/with-keychain.sh)",
  });
  assert.match(await made.$("textarea").getValue(), /^ssh-ed25519 AAAA\S+ /);
  const keyPath = path.join(home, ".ssh", "id_usine_ed25519");
  assert.equal(await (await browser.$('form.add input[name="key"]')).getValue(), keyPath);
  assert.equal(statSync(keyPath).mode & 0o777, 0o600);
  await made.scrollIntoView();
  await browser.saveScreenshot(path.join(out, "new-key.png"));
});

test("send a folder to the connected cluster: reuses the login, ends verified", async () => {
  const src = mkdtempSync(path.join(os.tmpdir(), "usine-e2e-data-"));
  for (let i = 0; i < 20; i++) writeFileSync(path.join(src, `sample ${i}.txt`), `row ${i}\n`);
  await (await browser.$('nav button[data-screen="data"]')).click();
  await fill('form.upload input[name="source"]', src);
  const into = `/home/bob/usine-e2e-${process.pid}`;
  await fill('form.upload input[name="destination"]', into);
  // Before sending, the exact place: the folder goes into the chosen one under its own name
  // (the guide's rule too), not spread into it.
  const there = `${into}/${path.basename(src)}`;
  assert.equal(
    await (await browser.$("form.upload [data-lands]")).getText(),
    `It goes to ${there} on lab.`,
  );
  await (await browser.$("form.upload button[type=submit]")).click();

  // Its own row: the guide's upload of the first test is listed too.
  const ours = async () => {
    for (const r of await browser.$$("[data-transfer]"))
      if ((await r.getText()).includes(src)) return r;
    return null;
  };
  await browser.waitUntil(
    async () => (await (await ours())?.getAttribute("data-state")) === "done",
    {
      timeout: 30_000,
      timeoutMsg: "the upload did not end verified",
    },
  );
  const row = await ours();
  assert.match(await row.getText(), /20 of 20 files verified/);
  assert.match(await row.getText(), new RegExp(`lab:${there}`));
  // The cluster's connection from the login test was reused: no code was asked again.
  assert.equal(await (await browser.$('[role="dialog"]')).isExisting(), false);
  await browser.saveScreenshot(path.join(out, "data.png"));

  // And back again, into a new local folder, verified file by file.
  const back = path.join(home, "results");
  await fill('form.download input[name="remote"]', there);
  await fill('form.download input[name="local"]', back);
  const comes = path.join(back, path.basename(src));
  assert.equal(
    await (await browser.$("form.download [data-lands]")).getText(),
    `It comes to ${comes} on this computer.`,
  );
  await (await browser.$("form.download button[type=submit]")).click();
  const fetched = await browser.$("[data-fetched]");
  await fetched.waitForExist({ timeout: 30_000, timeoutMsg: "the folder did not come back" });
  assert.match(await fetched.getText(), /20 of 20 files verified/);
  assert.match(await fetched.getText(), new RegExp(`in ${comes}$`));
  assert.equal(readFileSync(path.join(comes, "sample 7.txt"), "utf8"), "row 7\n");
});

/** The X window named `name` once it shows (xdotool), or null after `ms`. */
async function xWindow(name, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const ids = execFileSync("xdotool", ["search", "--onlyvisible", "--name", name]);
      const id = ids.toString().trim().split("\n")[0];
      if (id) return id;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

/** Chooses `folder` in the GTK file dialog titled `title`, as a person typing its path does
 *  (Ctrl+L opens the location field). */
async function chooseInDialog(title, folder) {
  const dialog = await xWindow(title);
  assert.ok(dialog, `no file dialog "${title}" opened`);
  const xdo = (...args) => execFileSync("xdotool", args);
  xdo("windowfocus", "--sync", dialog);
  xdo("key", "--window", dialog, "ctrl+l");
  xdo("type", "--window", dialog, "--delay", "20", `${folder}/`);
  await new Promise((r) => setTimeout(r, 300));
  xdo("key", "--window", dialog, "Return");
  // In a folder dialog, Return on a folder's path may open it first: Return again chooses it.
  await new Promise((r) => setTimeout(r, 700));
  if (await xWindow(title, 500)) xdo("key", "--window", dialog, "Return");
}

/** Drags `paths` from a file-manager-like window onto the page element `selector`, with a real
 *  mouse drag under X (XDND), as a person drops files from their file manager. */
async function dropOn(selector, paths) {
  const drag = spawn(
    "/usr/bin/python3",
    [path.join(import.meta.dirname, "drag-files.py"), ...paths],
    {
      stdio: "inherit",
    },
  );
  const source = await xWindow("usine-e2e-drag");
  assert.ok(source, "the drag source window did not show");
  // The app's window: the largest visible one named Usine (GTK may map helper windows too).
  const windows = execFileSync("xdotool", ["search", "--onlyvisible", "--name", "^Usine$"])
    .toString()
    .trim()
    .split("\n");
  const geometry = (id) =>
    Object.fromEntries(
      execFileSync("xdotool", ["getwindowgeometry", "--shell", id])
        .toString()
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("=")),
    );
  const at = windows.map(geometry).sort((a, b) => b.WIDTH * b.HEIGHT - a.WIDTH * a.HEIGHT)[0];
  const target = await browser.execute((sel) => {
    const element = document.querySelector(sel);
    element.scrollIntoView({ block: "center" });
    const r = element.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  }, selector);
  const [x, y] = [Number(at.X) + Math.round(target.x), Number(at.Y) + Math.round(target.y)];
  const xdo = (...args) => execFileSync("xdotool", args);
  const from = geometry(source);
  const [sx, sy] = [Number(from.X) + 80, Number(from.Y) + 40];
  xdo("mousemove", "--sync", String(sx), String(sy));
  xdo("mousedown", "1");
  const moves = [
    [sx - 10, sy - 10],
    [sx - 30, sy - 30],
    [x, y],
    [x + 1, y + 1],
    [x + 2, y + 2],
  ];
  for (const [px, py] of moves) {
    xdo("mousemove", "--sync", String(px), String(py));
    await new Promise((r) => setTimeout(r, 150));
  }
  xdo("mouseup", "1");
  console.log(`  dropped at ${x},${y} (window ${at.X},${at.Y} ${at.WIDTH}x${at.HEIGHT})`);
  await new Promise((resolve) => {
    const timer = setTimeout(() => (drag.kill("SIGTERM"), resolve()), 5_000);
    drag.once("exit", () => (clearTimeout(timer), resolve()));
  });
}

test("files as people expect them: pick, drop, browse, preview, rename, delete, bring back, open", async () => {
  await (await browser.$('nav button[data-screen="data"]')).click();
  const local = path.join(home, "e2e 42");
  mkdirSync(local, { recursive: true });
  const csv = ["epoch,loss", ...Array.from({ length: 500 }, (_, i) => `${i},0.${i}`)].join("\n");
  writeFileSync(path.join(local, "loss.csv"), csv);
  const png = readFileSync(path.join(import.meta.dirname, "../../icons/32x32.png"));
  writeFileSync(path.join(local, "plot.png"), png);
  writeFileSync(path.join(local, "notes.txt"), "first try\n");
  // The desktop's opener, recording what it was asked to open.
  const opened = path.join(home, "opened.txt");
  mkdirSync(path.join(home, "bin"), { recursive: true });
  writeFileSync(
    path.join(home, "bin", "xdg-open"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${opened}'\n`,
  );
  chmodSync(path.join(home, "bin", "xdg-open"), 0o755);

  // Picked through the system's folder dialog: the path is filled in.
  const source = await browser.$('form.upload input[name="source"]');
  await source.clearValue();
  await tap("button=Choose a folder…");
  await chooseInDialog("Folder to send", local);
  await browser.waitUntil(async () => (await source.getValue()) === local, {
    timeout: 10_000,
    timeoutMsg: `the dialog's folder did not arrive: "${await source.getValue()}"`,
  });

  // Dropped from a file manager onto the screen: the same. (Typed over first: WebDriver's
  // clear alone does not tell the page the field changed.)
  await fill('form.upload input[name="source"]', "typed");
  await dropOn("form.upload", [local]);
  await browser.waitUntil(async () => (await source.getValue()) === local, {
    timeout: 10_000,
    timeoutMsg: `the dropped folder did not arrive: "${await source.getValue()}"`,
  });
  const into = `/home/bob/usine-e2e-browse-${process.pid}`;
  await fill('form.upload input[name="destination"]', into);
  await (await browser.$("form.upload button[type=submit]")).click();
  await browser.waitUntil(
    async () => {
      for (const r of await browser.$$("[data-transfer]"))
        if ((await r.getText()).includes(local))
          return (await r.getAttribute("data-state")) === "done";
      return false;
    },
    { timeout: 30_000, timeoutMsg: "the dropped folder was not sent" },
  );
  // Two of its files dropped together: one upload of their folder holding only those two,
  // each landing under its own name.
  await dropOn("form.upload", [path.join(local, "loss.csv"), path.join(local, "notes.txt")]);
  await (await browser.$("p*=Dropped: 2 to send")).waitForExist({ timeout: 10_000 });
  await (await browser.$("form.upload button[type=submit]")).click();
  await browser.waitUntil(
    async () => {
      for (const r of await browser.$$("[data-transfer]"))
        if ((await r.getText()).includes("2 items chosen in it"))
          return (await r.getAttribute("data-state")) === "done";
      return false;
    },
    { timeout: 30_000, timeoutMsg: "the two dropped files were not sent as one upload" },
  );

  // Browsed on the cluster: from the home place into the folder just sent.
  await tap("button=Browse lab");
  const entry = (name) => browser.$(`[data-entry="${name}"]`);
  await (await entry(path.basename(into))).waitForExist({ timeout: 15_000 });
  await (await browser.$('[data-place="home"]')).waitForExist();
  await (await entry(path.basename(into))).$("button.name").click();
  await (await entry("e2e 42")).waitForExist({ timeout: 10_000 });
  await (await entry("e2e 42")).$("button.name").click();
  await (await entry("loss.csv")).waitForExist({ timeout: 10_000 });
  assert.equal(await (await browser.$("[data-path]")).getAttribute("data-path"), `${into}/e2e 42`);

  // A CSV's head as a table, an image as itself.
  await (await entry("loss.csv")).$("button.name").click();
  const table = await browser.$('[data-preview="table"]');
  await table.waitForExist({ timeout: 10_000 });
  const cells = await browser.execute(
    (t) =>
      [...t.querySelectorAll("tr")].slice(0, 3).map((r) => [...r.cells].map((c) => c.textContent)),
    table,
  );
  assert.deepEqual(cells, [
    ["epoch", "loss"],
    ["0", "0.0"],
    ["1", "0.1"],
  ]);
  await (await entry("plot.png")).$("button.name").click();
  const image = await browser.$('[data-preview="image"] img');
  await image.waitForExist({ timeout: 10_000 });
  assert.equal(await browser.execute((img) => img.naturalWidth, image), 32);
  await browser.saveScreenshot(path.join(out, "browse.png"));

  // Renamed, then deleted after a confirmation that names it.
  await (await entry("notes.txt")).$('[data-action="rename"]').click();
  const newName = await browser.$('input[name="newName"]');
  await newName.clearValue();
  await newName.setValue("notes, renamed.txt");
  await (await newName.parentElement()).$("button[type=submit]").click();
  await (await entry("notes, renamed.txt")).waitForExist({ timeout: 10_000 });
  await (await entry("notes, renamed.txt")).$('[data-action="delete"]').click();
  const confirm = await browser.$("[data-confirm-delete]");
  await confirm.waitForExist({ timeout: 10_000 });
  assert.match(await confirm.getText(), /notes, renamed\.txt/);
  await confirm.$("button.danger").click();
  await (await entry("notes, renamed.txt")).waitForExist({ reverse: true, timeout: 10_000 });
  assert.match(await (await browser.$("[data-said]")).getText(), /Deleted .*notes, renamed\.txt/);

  // Brought back in one click (into the folder chosen earlier), then opened.
  const up = await browser.$$(".crumbs button");
  await up[up.length - 2].click();
  await (await entry("e2e 42")).waitForExist({ timeout: 10_000 });
  await (await entry("e2e 42")).$('[data-action="download"]').click();
  const fetched = await browser.$("[data-fetched]");
  await browser.waitUntil(async () => /e2e 42$/.test(await fetched.getText().catch(() => "")), {
    timeout: 30_000,
    timeoutMsg: "the folder did not come back",
  });
  assert.match(await fetched.getText(), /2 of 2 files verified/);
  const back = path.join(home, "results", "e2e 42");
  assert.equal(readFileSync(path.join(back, "loss.csv"), "utf8"), csv);
  await tap("[data-open]");
  await browser.waitUntil(
    () => {
      try {
        return readFileSync(opened, "utf8").includes(back);
      } catch {
        return false;
      }
    },
    { timeout: 10_000, timeoutMsg: "Open did not ask the desktop to open the folder" },
  );

  // The download is in the transfers list with its files.
  let row;
  await browser.waitUntil(
    async () => {
      for (const r of await browser.$$('[data-transfer][data-direction="down"]'))
        if ((await r.getText()).includes("e2e 42")) row = r;
      return row !== undefined;
    },
    { timeout: 10_000, timeoutMsg: "the download is not in the transfers list" },
  );
  await browser.waitUntil(async () => (await row.getAttribute("data-state")) === "done", {
    timeout: 10_000,
    timeoutMsg: "the download is not listed as verified",
  });
  await row.$('[data-action="files"]').click();
  const files = await row.$("[data-files]");
  await files.waitForExist({ timeout: 10_000 });
  assert.match(await files.getText(), /e2e 42\/loss\.csv[\s\S]*Verified/);
});

/** CPU seconds used so far by the app and its WebKit helper processes (Linux /proc), in total
 *  and per program. */
function appCpuSeconds(byName = {}) {
  const ticks = 100; // USER_HZ on Linux
  const pids = execFileSync("pgrep", ["-f", `${app}|WebKitWebProcess|WebKitNetworkProcess`])
    .toString()
    .split("\n")
    .filter(Boolean);
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.split(") ")[1].split(" ");
      const seconds = (Number(fields[11]) + Number(fields[12])) / ticks;
      const name = stat.slice(stat.indexOf("(") + 1, stat.indexOf(") "));
      byName[name] = (byName[name] ?? 0) + seconds;
      total += seconds;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/** Desktop notifications shown so far, as dunst records them. */
function notificationsShown() {
  try {
    const history = JSON.parse(execFileSync("dunstctl", ["history"]).toString());
    return history.data.flat().map((n) => `${n.summary.data}: ${n.body.data}`);
  } catch {
    return [];
  }
}

test("a large upload shows its rate, pauses, and resumes to verified", async () => {
  const src = mkdtempSync(path.join(os.tmpdir(), "usine-e2e-big-"));
  // Sparse: quick to make; the debug build sends it at a few tens of MB/s, time enough to pause.
  execFileSync("truncate", ["-s", "384M", path.join(src, "weights.bin")]);
  const dest = `/dev/shm/usine-e2e-big-${process.pid}`; // the lab runs on this machine
  await (await browser.$('nav button[data-screen="data"]')).click();
  await fill('form.upload input[name="source"]', src);
  await fill('form.upload input[name="destination"]', dest);
  await (await browser.$("form.upload button[type=submit]")).click();
  const row = async () => {
    for (const r of await browser.$$("[data-transfer]"))
      if ((await r.getText()).includes(src)) return r;
    return null;
  };
  await browser.waitUntil(async () => (await (await row())?.$("[data-rate]"))?.isExisting(), {
    timeout: 20_000,
    timeoutMsg: "no rate and time left while sending",
  });
  assert.match(await (await (await row()).$("[data-rate]")).getText(), /\/s · about .+ left/);
  await (await (await row()).$("button=Pause")).click();
  await browser.waitUntil(
    async () => (await (await row()).getAttribute("data-state")) === "paused",
    {
      timeout: 5_000,
      timeoutMsg: "the upload did not pause",
    },
  );
  const resume = await (await row()).$("button=Resume");
  assert.ok(await resume.isExisting(), "a paused upload offers Resume");
  await resume.click();
  await browser.waitUntil(async () => (await (await row()).getAttribute("data-state")) === "done", {
    timeout: 60_000,
    timeoutMsg: "the resumed upload did not end verified",
  });
  assert.match(await (await row()).getText(), /1 of 1 files verified/);
  rmSync(dest, { recursive: true, force: true });
  rmSync(src, { recursive: true, force: true });
});

test("a large download pauses, and cancelling it deletes what arrived and nothing else", async () => {
  // Sparse on the cluster (the lab runs on this machine): big enough to be caught midway.
  const there = mkdtempSync("/dev/shm/usine-e2e-dl-");
  chmodSync(there, 0o755);
  execFileSync("truncate", ["-s", "2G", path.join(there, "weights.bin")]);
  const into = mkdtempSync(path.join(os.tmpdir(), "usine-e2e-recu-"));
  writeFileSync(path.join(into, "mine.txt"), "kept");
  await (await browser.$('nav button[data-screen="data"]')).click();
  await fill('form.download input[name="remote"]', there);
  await fill('form.download input[name="local"]', into);
  await (await browser.$("form.download button[type=submit]")).click();
  const row = async () => {
    for (const r of await browser.$$('[data-transfer][data-direction="down"]'))
      if ((await r.getText()).includes(there)) return r;
    return null;
  };
  await browser.waitUntil(
    async () => (await (await row())?.getAttribute("data-state")) === "sending",
    {
      timeout: 20_000,
      timeoutMsg: "the download shows no progress in the list",
    },
  );
  await (await (await row()).$("button=Pause")).click();
  await browser.waitUntil(
    async () => (await (await row()).getAttribute("data-state")) === "paused",
    {
      timeout: 5_000,
      timeoutMsg: "the download did not pause",
    },
  );
  const landed = path.join(into, path.basename(there));
  assert.ok(
    existsSync(path.join(landed, "weights.bin.usine-part")),
    "what arrived is kept as a part",
  );
  await (await (await row()).$('[data-action="cancel"]')).click();
  await (await (await row()).$('[data-action="cancel-delete"]')).click();
  await browser.waitUntil(
    async () => (await (await row()).getAttribute("data-state")) === "cancelled",
    {
      timeout: 10_000,
      timeoutMsg: "the download was not cancelled",
    },
  );
  assert.ok(!existsSync(landed), "the folder the download made is gone");
  assert.equal(readFileSync(path.join(into, "mine.txt"), "utf8"), "kept");
  assert.equal(await (await (await row()).$("button=Resume")).isExisting(), false);
  rmSync(there, { recursive: true, force: true });
  rmSync(into, { recursive: true, force: true });
});

/** The open draft, filled in as a short CPU job of the lab's project. */
async function fillCpuDraft(lab, name, commands) {
  await fill('input[name="name"]', name);
  await (
    await browser.$('select[name="account"]')
  ).selectByAttribute("value", lab.USINE_LAB_ACCOUNT);
  await (await browser.$('select[name="partition"]')).selectByAttribute("value", "cpu");
  await setTimeLimit("15", "minutes");
  await fill('textarea[name="commands"]', commands);
}

test("template → draft → submit to the lab → it runs, finishes, and a notification says so", async () => {
  const lab = labSettings();
  const name = `e2e-job-${process.pid}`;
  await (await browser.$('nav button[data-screen="drafts"]')).click();
  await (await browser.$('[data-template="cpu-preprocessing"] button')).click();
  await (await browser.$("#draft-title")).waitForExist({ timeout: 5_000 }).catch(async (e) => {
    await browser.saveScreenshot(path.join(out, "drafts-failure.png"));
    const error = await browser.$('[role="alert"]');
    throw new Error(
      `the draft did not open${(await error.isExisting()) ? `: ${await error.getText()}` : ""}: ${e}`,
    );
  });
  await fillCpuDraft(lab, name, "echo hello from the app; sleep 3");
  const status = await browser.$(".status");
  await browser.waitUntil(async () => (await status.getText()) === "Saved", { timeout: 5_000 });
  // A folder dropped on the draft becomes its input data, sent to the cluster first; the job
  // (whose submission checks that its inputs are there) can go once it has arrived.
  const dataset = mkdtempSync(path.join(os.tmpdir(), "usine-e2e-donnees-"));
  writeFileSync(path.join(dataset, "rows.csv"), "a,b\n1,2\n");
  await dropOn("section.editor", [dataset]);
  const inputs = await browser.$("[data-inputs]");
  await browser.waitUntil(
    async () => (await inputs.getText()).includes(`datasets/${path.basename(dataset)}`),
    { timeout: 10_000, timeoutMsg: "the dropped folder is not among the input data" },
  );
  const summary = await browser.$("aside.summary");
  await browser.waitUntil(async () => (await summary.getText()).includes("Ready to send."), {
    timeout: 5_000,
    timeoutMsg: `the checks did not pass: ${await summary.getText()}`,
  });
  const submit = await browser.$('[data-action="submit"]');
  assert.equal(await submit.getText(), "Submit");
  await browser.execute(() => window.scrollTo(0, 0));
  await browser.saveScreenshot(path.join(out, "draft.png"));

  const clicked = Date.now();
  await submit.click();
  const card = await jobCard(name);
  await card.waitForExist({ timeout: 5_000 });
  await browser.waitUntil(async () => (await card.getAttribute("data-state")) === "running", {
    timeout: 30_000,
    timeoutMsg: "the job was not shown running",
  });
  console.log(`Submit → Running shown: ${Date.now() - clicked} ms`);
  await browser.waitUntil(async () => (await card.getAttribute("data-state")) === "completed", {
    timeout: 60_000,
    timeoutMsg: "the job was not shown finished",
  });
  await card.click();
  const logs = await browser.$('[data-logs="stdout"]');
  await browser.waitUntil(async () => (await logs.getText()).includes("hello from the app"), {
    timeout: 10_000,
    timeoutMsg: "the job's output was not shown",
  });
  await browser.saveScreenshot(path.join(out, "jobs.png"));
  await browser.waitUntil(
    async () => notificationsShown().some((n) => n.startsWith(`${name} finished`)),
    { timeout: 10_000, timeoutMsg: `no notification; dunst shows ${notificationsShown()}` },
  );
  assert.ok(notificationsShown().some((n) => n.startsWith(`${name} started`)));
});

test("a running GPU job's chart fills in on the Monitor screen, then the job is cancelled", async () => {
  const lab = labSettings();
  const name = `e2e-gpu-${process.pid}`;
  await (await browser.$('nav button[data-screen="drafts"]')).click();
  await (await browser.$('[data-template="pytorch-single-node"] button')).click();
  await (await browser.$("#draft-title")).waitForExist({ timeout: 5_000 });
  await fill('input[name="name"]', name);
  await (
    await browser.$('select[name="account"]')
  ).selectByAttribute("value", lab.USINE_LAB_ACCOUNT);
  await (await browser.$('select[name="partition"]')).selectByAttribute("value", "gpu");
  await fill('input[name="gpusPerNode"]', "2");
  // The template asks for 32 cores; a lab node has 8, which the checks must say.
  await browser.waitUntil(
    async () => (await (await browser.$("aside.summary")).getText()).includes("has 8 cores"),
    { timeout: 5_000, timeoutMsg: "the checks did not catch 32 cores on an 8-core node" },
  );
  await fill('input[name="cpusPerTask"]', "2");
  await setTimeLimit("15", "minutes");
  // The lab's stand-in nvidia-smi is off the default PATH on purpose; the recorder needs srun.
  await fill(
    'textarea[name="variables"]',
    `PATH=/opt/usine-lab/bin:${lab.USINE_LAB24_SLURM_BIN}:/usr/local/bin:/usr/bin:/bin`,
  );
  await fill('textarea[name="commands"]', "sleep 120");
  const summary = await browser.$("aside.summary");
  let said = "";
  await browser.waitUntil(
    async () => {
      said = await summary.getText();
      return said.includes("Ready to send.") && said.includes("Up to 0.5 GPU hours");
    },
    { timeout: 5_000, timeoutMsg: `the checks and cost were not shown: ${said}` },
  );
  await (await browser.$('[data-action="submit"]')).click();
  await (await browser.$(`[data-job]`)).waitForExist({ timeout: 5_000 });

  await (await browser.$('nav button[data-screen="monitor"]')).click();
  const chart = await browser.$("[data-gpu-chart]");
  await chart.waitForExist({ timeout: 30_000, timeoutMsg: "the running GPU job did not appear" });
  const samples = async () => Number(await chart.getAttribute("data-samples"));
  await browser.waitUntil(async () => (await samples()) >= 2, {
    timeout: 30_000,
    timeoutMsg: "no GPU samples reached the chart",
  });
  const first = await samples();
  // The app's CPU over 15 s of watching, with the test idle (no WebDriver polling meanwhile),
  // after 5 s for the screen change and the first chart to settle.
  await browser.pause(5_000);
  const [before, after] = [{}, {}];
  const [cpu0, wall0] = [appCpuSeconds(before), Date.now()];
  await browser.pause(15_000);
  const seconds = (Date.now() - wall0) / 1000;
  const cpu = ((appCpuSeconds(after) - cpu0) / seconds) * 100;
  for (const name of Object.keys(after))
    console.log(
      `  ${name}: ${(((after[name] - (before[name] ?? 0)) / seconds) * 100).toFixed(1)} %`,
    );
  await browser.waitUntil(async () => (await samples()) > first, {
    timeout: 30_000,
    timeoutMsg: "the chart did not update while the job ran",
  });
  console.log(`app CPU while watching a GPU job: ${cpu.toFixed(1)} % of one core`);
  assert.match(await chart.getText(), /2 GPU\(s\) · \d+ % busy on average/);
  assert.ok((await chart.$("svg").getHTML()).includes("GPU 1"));
  await browser.saveScreenshot(path.join(out, "monitor.png"));
  // Export: Usine asks where first (it proposes the Downloads folder, here the fresh home's),
  // the person picks a place with `~`, and a real PNG lands exactly there.
  await (await chart.$("button=Save as PNG")).click();
  const where = await chart.$('[data-save-as="png"] input[name="exportPath"]');
  await where.waitForExist({ timeout: 5_000, timeoutMsg: "Save did not ask where" });
  assert.ok((await where.getValue()).startsWith(home), await where.getValue());
  assert.equal(await (await chart.$("[data-saved]")).isExisting(), false, "written before asked");
  mkdirSync(path.join(home, "charts"), { recursive: true });
  await where.clearValue();
  await where.setValue("~/charts/first.png");
  await (await chart.$('[data-save-as="png"] button[type="submit"]')).click();
  const saved = await chart.$("[data-saved]");
  await saved.waitForExist({ timeout: 5_000, timeoutMsg: "the chart was not saved" });
  const file = path.join(home, "charts", "first.png");
  assert.equal(await saved.getText(), `Saved to ${file}`);
  assert.deepEqual([...readFileSync(file).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  // Saving again to the same name leaves the first file alone and says so.
  await (await chart.$("button=Save as PNG")).click();
  const again = await chart.$('[data-save-as="png"] input[name="exportPath"]');
  await again.waitForExist({ timeout: 5_000 });
  await again.clearValue();
  await again.setValue("~/charts/first.png");
  await (await chart.$('[data-save-as="png"] button[type="submit"]')).click();
  const refused = await chart.$('[data-save-as="png"] [role="alert"]');
  await refused.waitForExist({ timeout: 5_000, timeoutMsg: "an existing file was replaced" });
  assert.match(await refused.getText(), /already exists/);
  await (await chart.$("button=Cancel")).click();

  await (await browser.$('nav button[data-screen="jobs"]')).click();
  const card = await browser.$(`[data-job][data-state="running"]`);
  await card.click();
  await (await browser.$("button=Cancel job")).click();
  await browser.waitUntil(async () => (await card.getAttribute("data-state")) === "cancelled", {
    timeout: 30_000,
    timeoutMsg: "the job was not shown cancelled",
  });
});

/** The sessions' tokens seen in the addresses the app opened: none may reach its log. */
const sessionTokens = [];

/** Starts a session from the Sessions screen on the lab (as bob, logged in with his one-time
 *  code by the first test: the tunnel needs no new code), waits until it is ready, presses
 *  Open, and returns the address the app handed to the browser, with the card. */
async function startLabSession(lab, kind, fields, gpuHours) {
  const pages = path.join(home, "session-pages.txt");
  mkdirSync(path.join(home, "bin"), { recursive: true });
  writeFileSync(path.join(home, "bin", "test-browser"), `#!/bin/sh\necho "$1" >> '${pages}'\n`);
  chmodSync(path.join(home, "bin", "test-browser"), 0o755);
  rmSync(pages, { force: true });
  await (await browser.$('nav button[data-screen="sessions"]')).click();
  await (await browser.$(`input[name="kind"][value="${kind}"]`)).click();
  await (await browser.$('select[name="target"]')).selectByAttribute("value", "lab");
  for (const [name, value] of Object.entries(fields)) await fill(`input[name="${name}"]`, value);
  await fill('input[name="venv"]', lab.USINE_LAB_JUPYTER);
  await fill('input[name="partition"]', "gpu");
  await fill('input[name="account"]', lab.USINE_LAB_ACCOUNT);
  await setTimeLimit("15", "minutes");
  const cost = await browser.$("[data-cost]");
  const costs = `Costs at most ${gpuHours} GPU hours.`;
  await browser.waitUntil(async () => (await cost.getText()) === costs, {
    timeout: 5_000,
    timeoutMsg: "the session's cost was not shown",
  });
  const before = new Set();
  for (const c of await browser.$$("[data-session]"))
    before.add(await c.getAttribute("data-session"));
  await (await browser.$('[data-action="start-session"]')).click();
  let card;
  await browser.waitUntil(
    async () => {
      for (const c of await browser.$$("[data-session]"))
        if (!before.has(await c.getAttribute("data-session"))) card = c;
      return card !== undefined;
    },
    { timeout: 15_000, timeoutMsg: "the new session did not appear" },
  );
  await browser.waitUntil(async () => (await card.getAttribute("data-ready")) === "true", {
    timeout: 120_000,
    timeoutMsg: `the session did not become ready: ${await card.getText()}`,
  });
  assert.match(await card.getText(), /Ready: 1[45] min left/);
  assert.match(await card.getText(), /Reached through the login node/);
  await (await card.$('[data-action="open-session"]')).click();
  await browser.waitUntil(() => existsSync(pages), {
    timeout: 10_000,
    timeoutMsg: "Open did not start the browser",
  });
  const url = readFileSync(pages, "utf8").trim().split("\n").pop();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\//);
  sessionTokens.push(url.match(/[0-9a-f]{48}/)[0]);
  return { url, card };
}

/** Stops the session from its card: it says what it used, and the job leaves Slurm's queue. */
async function stopLabSession(card) {
  const job = await card.getAttribute("data-job");
  await (await card.$('[data-action="stop-session"]')).click();
  await browser.waitUntil(
    async () => /Stopped\. It used [\d.]+ GPU hours\./.test(await card.getText()),
    {
      timeout: 30_000,
      timeoutMsg: "Stop did not say what the session used",
    },
  );
  // The guide's "lab" is the 24.11 cluster; a job it has forgotten is an invalid id.
  const squeue = path.join(labSettings().USINE_LAB24_SLURM_BIN, "squeue");
  const queued = () => {
    try {
      return execFileSync(squeue, ["-h", "-j", job, "-t", "PD,R,CG", "-o", "%i"], {
        stdio: ["ignore", "pipe", "pipe"],
      })
        .toString()
        .trim();
    } catch (e) {
      if (/Invalid job id/.test(String(e.stderr))) return "";
      throw e;
    }
  };
  await browser.waitUntil(async () => queued() === "", {
    timeout: 60_000,
    timeoutMsg: `job ${job} is still in Slurm's queue`,
  });
}

test("a JupyterLab session on the lab: opened through the tunnel, a notebook cell runs, its GPU chart fills, stopped", async () => {
  const lab = labSettings();
  const { url, card } = await startLabSession(lab, "jupyterlab", { gpus: "1" }, "0.25");
  assert.match(url, /\/lab\?token=[0-9a-f]{48}$/);
  // The page as a browser uses it: a kernel, and a cell over the kernel's websocket.
  const cell = execFileSync(path.join(lab.USINE_LAB_JUPYTER, "bin", "python"), [
    path.resolve(import.meta.dirname, "../lab/notebook_cell.py"),
    url,
    "import os; print(os.environ.get('SLURM_JOB_ID') is not None, 6 * 7)",
  ]).toString();
  assert.equal(cell, "True 42\n");
  const chart = await card.$("[data-gpu-chart]");
  await browser.waitUntil(async () => Number(await chart.getAttribute("data-samples")) >= 1, {
    timeout: 60_000,
    timeoutMsg: "the session's GPU chart got no samples",
  });
  await browser.saveScreenshot(path.join(out, "session-jupyterlab.png"));
  await stopLabSession(card);
});

test("a TensorBoard session on the lab shows a training run's curves", async () => {
  const lab = labSettings();
  // A run's event files, as a training script writes them, where the lab's jobs can read them.
  const runs = mkdtempSync(path.join(os.tmpdir(), "usine-e2e-runs-"));
  chmodSync(runs, 0o755);
  execFileSync(path.join(lab.USINE_LAB_JUPYTER, "bin", "python"), [
    "-c",
    `import time
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
w = EventFileWriter(${JSON.stringify(runs)})
for step in range(10):
    w.add_event(Event(step=step, wall_time=time.time(), summary=Summary(value=[Summary.Value(tag="loss", simple_value=1.0 / (step + 1))])))
w.close()`,
  ]);
  execFileSync("chmod", ["-R", "a+rX", runs]);
  const { url, card } = await startLabSession(
    lab,
    "tensorboard",
    { gpus: "0", folder: runs },
    "0.00",
  );
  let points = [];
  const deadline = Date.now() + 60_000;
  while (points.length < 10 && Date.now() < deadline) {
    const res = await fetch(`${url}data/plugin/scalars/scalars?run=.&tag=loss`).catch(() => null);
    if (res?.ok) points = await res.json();
    else await new Promise((r) => setTimeout(r, 1_000));
  }
  assert.equal(points.length, 10, "TensorBoard did not show the run's 10 points");
  assert.equal(points[9][1], 9);
  await stopLabSession(card);
  rmSync(runs, { recursive: true, force: true });
});

test("a job on this computer shows what it uses of the processors and memory", async () => {
  const name = `e2e-here-${process.pid}`;
  await (await browser.$('nav button[data-screen="drafts"]')).click();
  await (await browser.$('[data-template="cpu-preprocessing"] button')).click();
  await (await browser.$("#draft-title")).waitForExist({ timeout: 5_000 });
  await (await browser.$('select[name="target"]')).selectByAttribute("value", "this-computer");
  await fill('input[name="name"]', name);
  await fill('input[name="cpusPerTask"]', "1");
  // One core kept busy for a minute.
  await fill(
    'textarea[name="commands"]',
    "end=$((SECONDS + 60)); while [ $SECONDS -lt $end ]; do :; done",
  );
  const summary = await browser.$("aside.summary");
  await browser.waitUntil(async () => (await summary.getText()).includes("Ready to send."), {
    timeout: 5_000,
    timeoutMsg: `the checks did not pass: ${await summary.getText()}`,
  });
  await (await browser.$('[data-action="submit"]')).click();
  const card = await jobCard(name);
  await card.waitForExist({ timeout: 5_000 });
  await browser.waitUntil(async () => (await card.getAttribute("data-state")) === "running", {
    timeout: 15_000,
    timeoutMsg: "the job on this computer was not shown running",
  });
  await card.click();
  const chart = await browser.$("[data-gpu-chart]");
  await chart.waitForExist({ timeout: 5_000, timeoutMsg: "the job has no chart" });
  await browser.waitUntil(async () => Number(await chart.getAttribute("data-cpu-samples")) >= 3, {
    timeout: 40_000,
    timeoutMsg: "no readings of the job's processes reached the chart",
  });
  const caption = await chart.$("figcaption").getText();
  const mean = Number(/^(\d+) % of this computer's processors busy on average$/.exec(caption)?.[1]);
  const cores = os.availableParallelism();
  // One busy core; the first readings may cover the start.
  assert.ok(mean > 25 / cores && mean <= 150 / cores, `${caption} with ${cores} cores`);
  const svg = await chart.$("svg").getHTML();
  assert.ok(svg.includes("CPUs busy (%)") && !svg.includes("GPU busy"), svg.slice(0, 400));
  assert.ok(svg.includes("memory used (GiB)"), "the job's memory is not shown in GiB");
  console.log(`  a job on this computer, one busy core of ${cores}: "${caption}"`);
  await browser.saveScreenshot(path.join(out, "local-job-use.png"));
  await (await browser.$("button=Cancel job")).click();
  await browser.waitUntil(async () => (await card.getAttribute("data-state")) === "cancelled", {
    timeout: 15_000,
    timeoutMsg: "the job was not shown cancelled",
  });
});

test("'just try on this computer' leads to a first job that runs here and finishes, its processors on the chart", async () => {
  // The guide again, from the Clusters screen, as someone without compute time yet would take it.
  await (await browser.$('nav button[data-screen="clusters"]')).click();
  await (await browser.$('main [data-action="guide"]')).click();
  const guide = await browser.$("[data-guide-step]");
  await guide.waitForExist({ timeout: 5_000 });
  await tap('input[name="factory"][value="thisComputer"]');
  await tap('[data-action="next"]');
  const firstJob = await browser.$("[data-first-job-step]");
  await firstJob.waitForExist({ timeout: 5_000 });
  // This computer has no GPU: the first job offered is one it can run, its processors.
  const cpu = await browser.$('input[name="template"][value="first-cpu-job"]');
  await browser.waitUntil(async () => await cpu.isSelected(), {
    timeout: 5_000,
    timeoutMsg: "the guide did not offer the processors job on a computer without a GPU",
  });
  await tap('[data-action="next"]');
  const ready = await browser.$("[data-ready]");
  await ready.waitForExist({
    timeout: 5_000,
    timeoutMsg: `the first job here is not ready: ${await firstJob.getText()}`,
  });
  assert.ok(!(await firstJob.getText()).includes("—"), await firstJob.getText());
  await tap('[data-action="submit"]');
  const detail = await browser.$("[data-detail] [data-badge]");
  await detail.waitForExist({ timeout: 5_000, timeoutMsg: "the job's own view did not open" });
  await browser.waitUntil(async () => (await detail.getAttribute("data-badge")) === "running", {
    timeout: 30_000,
    timeoutMsg: "the first job on this computer did not start",
  });
  const chart = await browser.$("[data-detail] [data-gpu-chart]");
  await browser.waitUntil(
    async () =>
      (await chart.isExisting()) && Number(await chart.getAttribute("data-cpu-samples")) >= 2,
    { timeout: 40_000, timeoutMsg: "the first job's processors never reached the chart" },
  );
  await browser.waitUntil(async () => (await detail.getAttribute("data-badge")) === "completed", {
    timeout: 90_000,
    timeoutMsg: "the first job on this computer did not finish",
  });
});

test("when the cluster's sshd stops, a banner says so, a queued job waits, and goes out once it is back", async () => {
  const lab = labSettings();
  // The login node goes away: the guide's cluster's sshd stops, listener and sessions.
  execFileSync("pkill", ["-x", "sshd-lab24"]);
  const banner = await browser.$("[data-offline]");
  await browser.waitUntil(
    async () => (await banner.isExisting()) && /lab is not reachable/.test(await banner.getText()),
    { timeout: 30_000, timeoutMsg: "no offline banner after the link dropped" },
  );
  // Offline, a draft still opens and can be queued for the cluster.
  await (await browser.$('nav button[data-screen="drafts"]')).click();
  await (await browser.$('[data-template="cpu-preprocessing"] button')).click();
  await (await browser.$("#draft-title")).waitForExist({ timeout: 5_000 });
  await (await browser.$('select[name="target"]')).selectByAttribute("value", "lab");
  await fillCpuDraft(lab, `e2e-offline-${process.pid}`, "echo sent after the link came back");
  const queue = await browser.$('[data-action="submit"]');
  await browser.waitUntil(async () => (await queue.getText()).startsWith("Queue"), {
    timeout: 5_000,
    timeoutMsg: "offline, the draft should offer to queue",
  });
  await browser.waitUntil(async () => await queue.isEnabled(), { timeout: 5_000 });
  await queue.click();
  const waiting = await browser.$('[data-queued="lab"]');
  await waiting.waitForExist({ timeout: 5_000, timeoutMsg: "the queued job is not shown" });
  assert.match(await waiting.getText(), /A job waits to be sent to lab/);
  await browser.saveScreenshot(path.join(out, "offline.png"));

  // While it is down, Connect fails with the reason and what to do; the job keeps waiting.
  await (await browser.$('nav button[data-screen="clusters"]')).click();
  await (await browser.$('[data-cluster="lab"] button.primary')).click();
  const refused = await browser.$('[data-cluster="lab"] [role="alert"]');
  await browser.waitUntil(
    async () =>
      /Nothing accepts SSH connections on port/.test(await refused.getText().catch(() => "")),
    {
      timeout: 15_000,
      timeoutMsg: "no clear error while the cluster's sshd was down",
    },
  );
  assert.match(await banner.getText(), /A job waits to be sent to lab/);

  // Back online: the lab starts its sshd again, the user logs in (a new one-time code), and
  // the outbox goes out by itself.
  execFileSync("bash", [new URL("../lab/up.sh", import.meta.url).pathname], { stdio: "ignore" });
  await (await browser.$('[data-cluster="lab"] button.primary')).click();
  await answerPasswordAndCode(lab);
  await browser.waitUntil(async () => !(await banner.isExisting()), {
    timeout: 30_000,
    timeoutMsg: "the queued job was not sent once the cluster was back",
  });
  // It runs and ends before the next tests, so its notifications reach this session's daemon.
  await (await browser.$('nav button[data-screen="jobs"]')).click();
  await (await browser.$("[data-job]")).waitForExist({ timeout: 5_000 });
  await browser.waitUntil(
    async () => {
      for (const card of await browser.$$("[data-job]"))
        if ((await card.getText()).includes(`e2e-offline-${process.pid}`))
          return (await card.getAttribute("data-state")) === "completed";
      return false;
    },
    { timeout: 60_000, timeoutMsg: "the job sent after the reconnection did not finish" },
  );
});

test("Home gathers the clusters' states, the GPU hours left and the recent drafts", async () => {
  const lab = labSettings();
  await (await browser.$('nav button[data-screen="home"]')).click();
  const budget = await browser.$(`[data-budget="${lab.USINE_LAB_ACCOUNT}"]`);
  await budget.waitForExist({ timeout: 5_000, timeoutMsg: "no GPU-hours gauge on Home" });
  assert.match(await budget.getText(), /[\d.]+ of 100 GPU hours left/);
  assert.ok(await budget.$("meter").isExisting());
  // Each cluster's state: the lab, logged in again after the outage above.
  const state = await browser.$('[data-home-cluster="lab"] [data-state]');
  assert.equal(await state.getAttribute("data-state"), "connected");
  assert.ok(await (await browser.$("[data-home-draft]")).isExisting(), "no recent draft on Home");
  assert.doesNotMatch(await (await browser.$("main .intro")).getText(), /No cluster is set up/);
  await browser.saveScreenshot(path.join(out, "home-dashboard.png"));
});

// axe-core, run inside the real WebView on every screen once they hold data (a cluster, a
// transfer, jobs, a chart): no serious or critical violation may remain.
/** Runs axe-core on what the window shows now; answers its serious or critical findings. */
async function axeScan(label) {
  const axe = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
  // The script goes in as WebDriver script, not through eval: the app's CSP forbids eval.
  if (!(await browser.execute(() => Boolean(window.axe)))) await browser.execute(axe);
  const result = await browser.executeAsync((done) => {
    window.axe
      .run(document, { resultTypes: ["violations"] })
      .then((r) =>
        done({
          checked: r.passes.length + r.violations.length,
          violations: r.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
          })),
        }),
      )
      .catch((e) => done({ checked: 0, error: String(e), violations: [] }));
  });
  assert.ok(result.checked > 10, `axe did not run on ${label}: ${result.error ?? ""}`);
  console.log(`  ${label}: ${result.checked} rules applied, ${result.violations.length} broken`);
  const serious = [];
  for (const v of result.violations) {
    console.log(`  ${label}: ${v.impact} ${v.id} — ${v.help} (${v.nodes.join(", ")})`);
    if (v.impact === "serious" || v.impact === "critical") serious.push(`${label}: ${v.id}`);
  }
  return serious;
}

// axe-core, run inside the real WebView on every screen once they hold data (a cluster, a
// transfer, jobs, a chart): no serious or critical violation may remain. The guides' screens
// are scanned in their own test below.
test("every screen passes an automated accessibility scan (axe-core)", async () => {
  const screens = ["home", "drafts", "jobs", "data", "monitor", "clusters", "settings"];
  const found = [];
  for (const screen of screens) {
    await (await browser.$(`nav button[data-screen="${screen}"]`)).click();
    await (await browser.$("main h1")).waitForExist({ timeout: 3_000 });
    await browser.pause(300); // let the screen's first data arrive
    found.push(...(await axeScan(screen)));
  }
  assert.deepEqual(found, [], "serious accessibility problems");
});

/** English words a French screen must not show. Words French shares ("minutes", "job",
 *  "machines", "cluster", "a") and words the user's own data holds here (folders `home` and `data`, job
 *  names with `first`, `here`, `gpu`) are left out. */
const ENGLISH = (
  "the your you is are was with this that not and of to for from has have will yet it its be " +
  "can cannot what which when where how left there none yes sent waiting running finished " +
  "failed cancelled ago hours seconds new add open save send back next connect drafts settings " +
  "busy used memory no nothing ready start stop cancel show try again folder file files " +
  "computer paid by please error could should must all more only about after before then " +
  "than until into just why while queue queued wait waits every each see use day days week " +
  "key keys password login user"
).split(" ");

/** Every English word shown on the page: text people read (hidden parts left out), the names a
 *  screen reader says, and what Rust drew (charts). What the user typed or the cluster named is
 *  theirs: code, logs and scripts are not read. */
async function englishShown(label) {
  const found = await browser.execute((words) => {
    const english = new Set(words);
    const theirs = "code, pre, textarea, script, style";
    const out = [];
    const look = (text, where) => {
      for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
        if (english.has(w)) out.push(`"${w}" in "${text.trim().slice(0, 90)}" (${where})`);
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || el.closest(theirs)) continue;
      if (el.tagName !== "OPTION" && el.getClientRects().length === 0) continue;
      look(node.textContent ?? "", el.tagName.toLowerCase());
    }
    for (const el of document.querySelectorAll("[aria-label], [title], [placeholder], [alt]"))
      for (const name of ["aria-label", "title", "placeholder", "alt"]) {
        const value = el.getAttribute(name);
        if (value) look(value, name);
      }
    return [...new Set(out)];
  }, ENGLISH);
  for (const f of found) console.log(`  English on ${label}: ${f}`);
  return found.map((f) => `${label}: ${f}`);
}

test("in French, every screen and guide shows no English word; the switch keeps the screen", async () => {
  const pick = async (code) => {
    await (await browser.$('nav button[data-screen="settings"]')).click();
    const select = await browser.$('select[name="language"]');
    await select.waitForExist({ timeout: 3_000 });
    await select.selectByAttribute("value", code);
  };
  const home = () => browser.$('nav button[data-screen="home"]');
  const heading = () => browser.$("main h1");
  await pick("fr");
  // Whatever happens, the tests after this one find the app in English.
  const found = [];
  try {
    await browser.waitUntil(async () => (await (await home()).getText()).includes("Accueil"), {
      timeout: 5_000,
      timeoutMsg: "the sidebar did not switch to French",
    });
    assert.equal(await browser.execute(() => document.documentElement.lang), "fr");
    // The page was drawn again in French on the screen the user was on, not on Home.
    await browser.waitUntil(async () => (await (await heading()).getText()) === "Réglages", {
      timeout: 3_000,
      timeoutMsg: `switching the language left the Settings screen: ${await (await heading()).getText()}`,
    });

    const visit = async (screen) => {
      await (await browser.$(`nav button[data-screen="${screen}"]`)).click();
      await (await heading()).waitForExist({ timeout: 3_000 });
      await browser.pause(500); // the screen's data arrives
      found.push(...(await englishShown(screen)));
    };
    for (const screen of ["home", "drafts", "jobs", "data", "monitor", "clusters", "settings"])
      await visit(screen);

    // A job's own view, for each kind of job the tests above left (finished, failed, cancelled,
    // on the cluster and here).
    await visit("jobs");
    const cards = await browser.$$("[data-job]");
    for (const card of cards.slice(0, 6)) {
      await card.click();
      await (await browser.$("[data-detail]")).waitForExist({ timeout: 3_000 });
      await browser.pause(300);
      found.push(...(await englishShown(`job ${await card.getAttribute("data-job")}`)));
    }
    // Dates follow the language: French month names in the timeline.
    assert.match(await (await browser.$(".timeline")).getText(), /Préparé le \d/);
    // What Rust draws follows too: the GPU job's chart has French axis labels.
    for (const card of await browser.$$("[data-job]"))
      if ((await card.getText()).includes(`e2e-gpu-${process.pid}`)) await card.click();
    const chart = await browser.$("[data-detail] [data-gpu-chart] svg");
    await chart.waitForExist({ timeout: 10_000, timeoutMsg: "the GPU job's chart is not shown" });
    assert.match(await chart.getHTML(), /GPU occupé \(%\)/);
    await browser.saveScreenshot(path.join(out, "jobs-fr.png"));

    // A draft open in the editor, with its checks.
    await visit("drafts");
    await (await browser.$("[data-draft] button")).click();
    await (await browser.$("aside.summary")).waitForExist({ timeout: 3_000 });
    await browser.pause(500);
    found.push(...(await englishShown("draft editor")));

    // The guides: the first step, then "just try on this computer" to its first job and cost.
    await visit("clusters");
    await (await browser.$('main [data-action="guide"]')).click();
    await (await browser.$("[data-guide-step]")).waitForExist({ timeout: 5_000 });
    found.push(...(await englishShown("guide: AI Factory")));
    await (await browser.$('input[name="factory"][value="thisComputer"]')).click();
    await (await browser.$('[data-action="next"]')).click();
    await (await browser.$("[data-first-job-step]")).waitForExist({ timeout: 5_000 });
    await browser.pause(300);
    found.push(...(await englishShown("first job: template")));
    await (await browser.$('[data-action="next"]')).click();
    await (await browser.$("[data-ready]")).waitForExist({ timeout: 5_000 });
    found.push(...(await englishShown("first job: cost")));
    await browser.saveScreenshot(path.join(out, "first-job-fr.png"));
  } finally {
    await pick("en");
    await browser.waitUntil(async () => (await (await home()).getText()).includes("Home"), {
      timeout: 5_000,
      timeoutMsg: "the sidebar did not switch back to English",
    });
  }
  assert.deepEqual(found, [], "English on French screens");
});

test("in an 800×600 window the sidebar stays in view and a clicked job's detail comes into view", async () => {
  const before = await browser.getWindowSize();
  await browser.setWindowSize(800, 600);
  try {
    await (await browser.$('nav button[data-screen="jobs"]')).click();
    await browser.waitUntil(async () => (await browser.$$("[data-job]")).length >= 2, {
      timeout: 5_000,
      timeoutMsg: "the tests above left jobs to list",
    });
    const cards = await browser.$$("[data-job]");
    const last = cards[cards.length - 1];
    await last.scrollIntoView();
    await last.click();
    const detail = await browser.$("[data-detail]");
    await detail.waitForExist({ timeout: 3_000 });
    const inView = (el) =>
      browser.execute((e) => {
        const r = e.getBoundingClientRect();
        return r.top < window.innerHeight && r.bottom > 0;
      }, el);
    await browser.waitUntil(() => inView(detail), {
      timeout: 3_000,
      timeoutMsg: "the job's detail stayed out of sight under the list",
    });
    await browser.execute(() => window.scrollTo(0, document.body.scrollHeight));
    const nav = await browser.$("nav");
    assert.ok(await inView(nav), "the sidebar scrolled away");
    assert.equal(
      await browser.execute(() =>
        Math.round(document.querySelector("nav").getBoundingClientRect().top),
      ),
      0,
    );
    await browser.saveScreenshot(path.join(out, "jobs-800x600.png"));
  } finally {
    await browser.setWindowSize(before.width, before.height);
  }
});

/** The Jobs screen's card of the job called `name` (the first card may be an older job's). */
function jobCard(name) {
  return browser.$(`//button[@data-job][.//strong[text()="${name}"]]`);
}

/** Waits until no process runs `binary` any more. */
async function waitForExit(binary) {
  for (let i = 0; i < 100; i++) {
    if (running(binary).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${binary} still runs 10 s after its window closed`);
}

/** What has the keyboard focus, e.g. `h2`, `input[name=user]`, `input[name=factory]=custom`. */
function focused() {
  return browser.execute(() => {
    const e = document.activeElement;
    const name = e.getAttribute("name") ? `[name=${e.getAttribute("name")}]` : "";
    const action = e.dataset.action ? `[data-action=${e.dataset.action}]` : "";
    const value = e.type === "radio" ? `=${e.value}` : "";
    return `${e.tagName.toLowerCase()}${name}${action}${value}`;
  });
}

/** Types key by key: in one `keys` call, a repeated key ("2222") is pressed only once. */
async function type(text) {
  for (const key of text) await browser.keys(key);
}

// Browser login, as a site with a certificate authority offers it: the guide, the site's login
// page in the browser (the lab's identity provider, the test playing the person), a job, and the
// one-minute lab certificate renewed while connected, with no question and no connection lost.
test("a browser login from the guide: connected, a job runs, the certificate renews by itself", async () => {
  const lab = labSettings();
  const opened = path.join(home, "browser-opened.txt");
  mkdirSync(path.join(home, "bin"), { recursive: true });
  const testBrowser = path.join(home, "bin", "test-browser");
  writeFileSync(
    testBrowser,
    `#!/bin/sh\necho "$1" >> '${opened}'\n` +
      `LAB_BROWSER_USER='${lab.USINE_LAB_IDP_USER}' LAB_BROWSER_PASSWORD='${lab.USINE_LAB_IDP_PASSWORD}' ` +
      `exec node '${lab.USINE_LAB_BROWSER}' "$@" > '${opened}.page'\n`,
  );
  chmodSync(testBrowser, 0o755);
  await (await browser.$('nav button[data-screen="clusters"]')).click();
  await (await browser.$('main [data-action="guide"]')).click();
  const guide = await browser.$("[data-guide-step]");
  await guide.waitForExist({ timeout: 5_000 });
  const step = async (name, timeout = 10_000) =>
    browser.waitUntil(async () => (await guide.getAttribute("data-guide-step")) === name, {
      timeout,
      timeoutMsg: `the guide did not reach "${name}": ${await guide.getText()}`,
    });
  await tap('input[name="factory"][value="custom"]');
  await fill('input[name="name"]', "lab-browser");
  await fill('input[name="host"]', lab.USINE_LAB_HOST);
  await fill('input[name="port"]', lab.USINE_LAB_SSH_PORT);
  await tap('[data-action="next"]');
  await step("user");
  await fill('input[name="user"]', lab.USINE_LAB_KEY_USER);
  await tap('[data-action="next"]');
  await step("login");
  await tap('input[name="keyChoice"][value="browser"]');
  assert.match(await (await browser.$('[data-explains="certificate"]')).getText(), /certificate/);
  await fill('input[name="caUrl"]', lab.USINE_LAB_STEPCA_URL);
  await fill('input[name="fingerprint"]', lab.USINE_LAB_STEPCA_FINGERPRINT);
  await fill('input[name="provisioner"]', "lab-oidc");
  await browser.saveScreenshot(path.join(out, "guide-browser-login.png"));
  await tap('[data-action="next"]');
  await step("register");
  await tap('[data-action="next"]');
  await step("connect");
  const clicked = Date.now();
  await tap('[data-action="login"]');
  // The certificate comes first; then, on a port this home never saw, the host's identity.
  const hostKey = await browser.$('[data-question="unknownHostKey"]');
  await browser.waitUntil(
    async () =>
      (await hostKey.isExisting()) ||
      (await guide.getAttribute("data-guide-step")) === "discovered",
    { timeout: 30_000, timeoutMsg: `not connected: ${await guide.getText()}` },
  );
  if (await hostKey.isExisting()) await tap(hostKey.$("button[type=submit]"));
  await step("discovered", 30_000);
  console.log(`  browser login: Log in → connected in ${Date.now() - clicked} ms`);
  assert.equal(await (await browser.$('[data-question="browserLogin"]')).isExisting(), false);
  const pages = readFileSync(opened, "utf8").trim().split("\n");
  assert.equal(pages.length, 1, "the login page was opened once");
  assert.ok(pages[0].startsWith(lab.USINE_LAB_IDP_URL), pages[0]);
  assert.match(readFileSync(`${opened}.page`, "utf8"), /You are logged in/);
  await tap('[data-action="later"]');

  // A job through the browser login's connection.
  const name = `e2e-cert-${process.pid}`;
  await (await browser.$('nav button[data-screen="drafts"]')).click();
  await (await browser.$('[data-template="cpu-preprocessing"] button')).click();
  await (await browser.$("#draft-title")).waitForExist({ timeout: 5_000 });
  await (await browser.$('select[name="target"]')).selectByAttribute("value", "lab-browser");
  await fillCpuDraft(lab, name, "echo hello through a certificate");
  const summary = await browser.$("aside.summary");
  await browser.waitUntil(async () => (await summary.getText()).includes("Ready to send."), {
    timeout: 10_000,
    timeoutMsg: `the checks did not pass: ${await summary.getText()}`,
  });
  await (await browser.$('[data-action="submit"]')).click();
  const card = await jobCard(name);
  await browser.waitUntil(async () => (await card.getAttribute("data-state")) === "completed", {
    timeout: 60_000,
    timeoutMsg: "the job on the browser-login cluster did not finish",
  });

  // The lab's certificates last a minute: renewed at 80 %, with nothing asked.
  await (await browser.$('nav button[data-screen="clusters"]')).click();
  const cert = await browser.$('[data-cluster="lab-browser"] [data-certificate]');
  await cert.waitForExist({ timeout: 5_000 });
  const first = Number(await cert.getAttribute("data-valid-before"));
  await browser.waitUntil(
    async () => Number(await cert.getAttribute("data-valid-before")) > first,
    { timeout: 90_000, timeoutMsg: `no renewal: ${await cert.getText()}` },
  );
  assert.equal(await cert.getAttribute("data-certificate"), "valid");
  assert.equal(readFileSync(opened, "utf8").trim().split("\n").length, 1, "no second login");
  assert.equal(await (await browser.$("[data-question]")).isExisting(), false);
  const badge = await browser.$('[data-cluster="lab-browser"] .badge');
  assert.equal(await badge.getAttribute("data-state"), "connected");
  await browser.saveScreenshot(path.join(out, "clusters-certificate.png"));
});

test("the app's log is in the platform's log folder and holds no secret", () => {
  const lab = labSettings();
  const dir = path.join(home, ".local", "share", "eu.usine.desktop", "logs");
  const files = readdirSync(dir).filter((f) => /^usine\.\d{4}-\d{2}-\d{2}\.log$/.test(f));
  // One file a day (two when the run crosses midnight).
  assert.ok(files.length >= 1, `no daily log file in ${dir}: ${readdirSync(dir)}`);
  const log = appLog(home);
  assert.match(log, /Usine starts/);
  console.log(`  log: ${log.split("\n").length} lines at debug level for Usine's own code`);
  // Everything above logged in with these; none may appear.
  for (const secret of [lab.USINE_LAB_OTP_PASSWORD, lab.USINE_LAB_TOTP_SECRET, ...sessionTokens]) {
    assert.ok(!log.includes(secret), "a secret reached the log");
  }
  // The browser login's refresh token is in the keychain only; its key, certificate and ID
  // tokens only in memory: nothing of them in the data folder, the logs or WebView's storage.
  const refreshToken = execFileSync("secret-tool", [
    "lookup",
    "service",
    "usine",
    "username",
    "refresh-token:lab-browser",
  ])
    .toString()
    .trim();
  assert.ok(refreshToken.length > 20, "the browser login's refresh token is in the keychain");
  const needles = [refreshToken, "-cert-v01@openssh.com", "OPENSSH PRIVATE KEY", "eyJhbGciOi"];
  const allFiles = (dir) =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory()
            ? allFiles(path.join(dir, e.name))
            : e.isFile()
              ? [path.join(dir, e.name)]
              : [],
        )
      : [];
  let searched = 0;
  for (const file of [
    ...allFiles(path.join(home, "data")),
    ...allFiles(path.join(home, ".local", "share")),
    ...allFiles(path.join(home, ".cache")),
  ]) {
    const bytes = readFileSync(file);
    searched++;
    for (const needle of needles) {
      assert.ok(!bytes.includes(needle), `${file} holds ${needle.slice(0, 12)}…`);
    }
  }
  console.log(`  no key, certificate or token in ${searched} files of the data folder and WebView`);
});

// Near the end: it restarts the app, which ends the one-time-code login the tests above share.
test("the guide by keyboard for a key user: quit half-way, it resumes, the new key gets in", async () => {
  const lab = labSettings();
  const found = [];
  await (await browser.$('nav button[data-screen="clusters"]')).click();
  await (await browser.$('main [data-action="guide"]')).click();
  let guide = await browser.$("[data-guide-step]");
  await guide.waitForExist({ timeout: 5_000 });
  const step = async (name) =>
    browser.waitUntil(async () => (await guide.getAttribute("data-guide-step")) === name, {
      timeout: 15_000,
      timeoutMsg: `the guide did not reach "${name}": ${await guide.getText()}`,
    });
  // Each step starts at its question, then Tab, arrows and Enter do the rest.
  await browser.waitUntil(async () => (await focused()) === "h2", {
    timeout: 3_000,
    timeoutMsg: "the first question did not take the focus",
  });
  found.push(...(await axeScan("guide: AI Factory")));
  const choices = (await browser.$$('input[name="factory"]')).length;
  await browser.keys("Tab");
  assert.match(await focused(), /^input\[name=factory\]=/);
  // "Another cluster" comes after the catalogue, before "this computer".
  for (let i = 0; i < choices - 2; i++) await browser.keys("ArrowDown");
  assert.equal(await focused(), "input[name=factory]=custom");
  await browser.keys("Tab");
  assert.equal(await focused(), "input[name=name]");
  await type("lab-key");
  await browser.keys("Tab");
  await type(lab.USINE_LAB_HOST);
  await browser.keys("Tab");
  assert.equal(await focused(), "input[name=port]");
  // Whether Tab selected the "22" or left the caret after it, two Backspaces clear it.
  await browser.keys("Backspace");
  await browser.keys("Backspace");
  await type(lab.USINE_LAB_SSH_PORT);
  await browser.keys("Enter");
  await step("user");
  await browser.waitUntil(async () => (await focused()) === "h2", { timeout: 3_000 });
  await browser.keys("Tab");
  assert.equal(await focused(), "input[name=user]");
  await type(lab.USINE_LAB_KEY_USER);
  await browser.keys("Enter");
  await step("login");
  await browser.waitUntil(async () => (await focused()) === "h2", { timeout: 3_000 });
  found.push(...(await axeScan("guide: login")));
  await browser.keys("Tab");
  assert.equal(await focused(), "input[name=keyChoice]=new");
  await browser.keys("Tab");
  await browser.keys("Tab");
  assert.equal(await focused(), "button[data-action=next]");
  await browser.keys("Enter");
  await step("register");
  const publicKey = await (await browser.$("[data-public-key]")).getValue();
  assert.match(publicKey, /^ssh-ed25519 AAAA\S+ alice@usine$/);
  found.push(...(await axeScan("guide: register")));
  await browser.saveScreenshot(path.join(out, "guide-register.png"));

  // Quit in the middle (the window goes, the process ends) and start again: same step, same key.
  await browser.deleteSession();
  // One Usine per user: a start while the old window is still closing would hand over to it.
  await waitForExit(app);
  browser = await driver.open();
  guide = await browser.$("[data-guide-step]");
  await guide.waitForExist({
    timeout: 15_000,
    timeoutMsg: "the restarted app did not resume the guide",
  });
  assert.equal(await guide.getAttribute("data-guide-step"), "register");
  assert.equal(await (await browser.$("[data-public-key]")).getValue(), publicKey);

  // The site's portal, played by the lab: the public key is added to alice's account.
  const keys = path.join(
    execFileSync("sh", ["-c", "getent passwd alice | cut -d: -f6"]).toString().trim(),
    ".ssh",
    "authorized_keys",
  );
  const before = readFileSync(keys, "utf8");
  writeFileSync(keys, `${before}${publicKey}\n`);
  try {
    await (await browser.$('[data-action="next"]')).click();
    await step("connect");
    await (await browser.$('[data-action="login"]')).click();
    // Run on its own, this test meets the lab's host for the first time.
    const hostKey = await browser.$('[data-question="unknownHostKey"]');
    if (await hostKey.waitForExist({ timeout: 3_000 }).catch(() => false))
      await hostKey.$("button[type=submit]").click();
    await step("discovered").catch(async (e) => {
      await browser.saveScreenshot(path.join(out, "guide-key-failure.png"));
      throw e;
    });
    assert.ok(
      await (await browser.$(`[data-account="${lab.USINE_LAB_SPENT_ACCOUNT}"]`)).isExisting(),
      "alice's second project is not shown",
    );
  } finally {
    writeFileSync(keys, before);
  }
  found.push(...(await axeScan("guide: discovered")));

  // The first-job guide's screens, scanned too; the draft is kept, not sent.
  await (await browser.$('[data-action="firstJob"]')).click();
  const firstJob = await browser.$("[data-first-job-step]");
  await firstJob.waitForExist({ timeout: 5_000 });
  found.push(...(await axeScan("first job: template")));
  await (await browser.$('[data-action="next"]')).click();
  await browser.waitUntil(
    async () => (await firstJob.getAttribute("data-first-job-step")) === "data",
  );
  found.push(...(await axeScan("first job: data")));
  await (await browser.$('[data-action="next"]')).click();
  await (await browser.$("[data-cost]")).waitForExist({ timeout: 5_000 });
  found.push(...(await axeScan("first job: cost")));
  assert.deepEqual(found, [], "serious accessibility problems in the guides");
});

/** The WebKit web processes the app started (its page runs in one of them). */
function webProcesses(appPid) {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        // comm is cut to 15 characters; ppid is the fourth field, after "(comm)".
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const [, comm, rest] = stat.match(/^\d+ \((.*)\) (.*)$/s) ?? [];
        return comm?.startsWith("WebKitWebProces") && Number(rest.split(" ")[1]) === appPid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

// After everything else: it ends the WebDriver session. The app runs on its own here, because
// WebKitWebDriver closes the app of a session whose page crashed (racing the reload).
test("when WebKit's page process crashes, the window loads its page again", async () => {
  await browser.deleteSession();
  browser = undefined;
  await waitForExit(app);
  const logged = appLog(home).length;
  const since = () => appLog(home).slice(logged);
  const launched = spawn(path.join(home, "usine-app"), [], { stdio: "ignore" });
  try {
    const until = async (what, done) => {
      const deadline = Date.now() + 15_000;
      while (!done()) {
        assert.ok(Date.now() < deadline, what);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // WebKit does not report a page process that dies before its first load: wait for that.
    const loads = () => since().split("the window's page has loaded").length - 1;
    await until("the app's page did not load", () => loads() === 1);
    const crashed = webProcesses(launched.pid);
    assert.ok(crashed.length > 0, "no WebKit web process belongs to the app");
    const killed = Date.now();
    for (const pid of crashed) process.kill(pid, "SIGKILL");
    await until("the page did not load again: the window stays blank", () => loads() === 2);
    console.log(`  page process killed: the page loaded again ${Date.now() - killed} ms later`);
    assert.match(since(), /the window's page stopped; loading it again reason=Crashed/);
    assert.ok(
      webProcesses(launched.pid).some((pid) => !crashed.includes(pid)),
      "the page was not given a new process",
    );
    assert.deepEqual(running(app), [launched.pid], "the app itself must live on");
  } finally {
    launched.kill("SIGTERM");
  }
});
