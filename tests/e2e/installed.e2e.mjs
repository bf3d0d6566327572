// End-to-end check of the installed package: the binary dpkg put in /usr/bin, started the way
// the file manager does when a .sbatch file is double-clicked (the file as its argument), then
// updated through its own signed-update check.
//   USINE_APP              the installed app (default /usr/bin/usine-app)
//   E2E_OUT                folder for screenshots (default: ./out)
//   USINE_UPDATE_TEST_KEY  the throwaway private key whose public half the test package trusts
//   USINE_UPDATE_ENDPOINT  where that package looks for latest.json (http://127.0.0.1:PORT/…)
//   USINE_DEB              the installed .deb (the update is the same package, one version up)
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  appEnv,
  printLogProblems,
  running,
  startDriver,
  stopApp,
  writeLauncher,
} from "./session.mjs";

const app = process.env.USINE_APP ?? "/usr/bin/usine-app";
const out = path.resolve(process.env.E2E_OUT ?? "out");
let driver;
let browser;
let home;
let started;

const script = (name) => `#!/bin/bash
#SBATCH --job-name=${name}
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=2
#SBATCH --time=00:10:00
srun hostname
`;

/** The installed package's version, as dpkg knows it. */
const installedVersion = () =>
  execFileSync("dpkg-query", ["-W", "-f=${Version}", "usine"], { encoding: "utf8" }).trim();

/** Signs `file` with the test key for `version`; returns the signature as latest.json holds it. */
function sign(file, version) {
  const tauri = path.resolve("../../ui/node_modules/.bin/tauri");
  const key = process.env.USINE_UPDATE_TEST_KEY;
  const args = ["signer", "sign", "-f", key, "-p", "", "--app-version", version, file];
  execFileSync(tauri, args, { stdio: "ignore" });
  return readFileSync(`${file}.sig`, "utf8");
}

/**
 * A release server on 127.0.0.1 for the update test, as the test package expects: the next
 * version is the installed package one version up, signed with the test key; what latest.json
 * announces is made by the release's own script, with the signature `announce` is given.
 */
function releaseServer() {
  const key = process.env.USINE_UPDATE_TEST_KEY;
  const deb = process.env.USINE_DEB;
  assert.ok(key, "USINE_UPDATE_TEST_KEY: the package must be built with the test update key");
  assert.ok(deb, "USINE_DEB: the package that was installed");
  const endpoint = new URL(process.env.USINE_UPDATE_ENDPOINT ?? "");
  const current = installedVersion();
  const [major, minor, patch] = current.split(/[.+~-]/).map(Number);
  const next = `${major}.${minor}.${patch + 1}`;
  const work = mkdtempSync(path.join(os.tmpdir(), "usine-update-"));
  const tree = path.join(work, "tree");
  execFileSync("dpkg-deb", ["-R", deb, tree]);
  const control = path.join(tree, "DEBIAN", "control");
  writeFileSync(
    control,
    readFileSync(control, "utf8").replace(/^Version: .*$/m, `Version: ${next}`),
  );
  const nextDeb = path.join(work, `Usine_${next}_amd64.deb`);
  // Quick compression: the test is about the update, not the size.
  execFileSync("dpkg-deb", ["-Zgzip", "-z1", "-b", tree, nextDeb], { stdio: "ignore" });
  const good = sign(nextDeb, next);
  // Forged: another file's genuine signature; and the signature of an older version.
  const other = path.join(work, "other.bin");
  writeFileSync(other, "not the package");
  const forged = sign(other, next);
  const old = path.join(work, "old.deb");
  writeFileSync(old, readFileSync(nextDeb));
  const oldVersion = sign(old, current);

  let latest = "";
  const announce = (signature) => {
    writeFileSync(`${nextDeb}.sig`, signature);
    const script = path.resolve("../../scripts/latest-json.mjs");
    const args = ["--version", next, "--url-base", endpoint.origin, "--notes"];
    latest = execFileSync(
      process.execPath,
      [script, ...args, "Faster uploads (a test release).", nextDeb],
      { encoding: "utf8" },
    );
  };
  const server = http.createServer((req, res) => {
    if (req.url === endpoint.pathname) {
      res.setHeader("content-type", "application/json");
      res.end(latest);
    } else if (req.url === `/${path.basename(nextDeb)}`) {
      res.end(readFileSync(nextDeb));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  const listening = new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(endpoint.port), "127.0.0.1", resolve);
  });
  return { current, next, good, forged, oldVersion, announce, server, listening, work };
}

let release;

before(async () => {
  mkdirSync(out, { recursive: true });
  // Up before the app: its check shortly after start finds a (forged) update.
  release = releaseServer();
  release.announce(release.forged);
  await release.listening;
  home = mkdtempSync(path.join(os.tmpdir(), "usine-installed-"));
  const first = path.join(home, "from file manager.sbatch");
  writeFileSync(first, script("opened-from-file-manager"));
  driver = await startDriver(writeLauncher(app, home, [first]));
  started = Date.now();
  browser = await driver.open();
});

after(async () => {
  await browser?.deleteSession().catch(() => {});
  driver?.stop();
  release?.server.close();
  // Two packages and their unpacked tree: 250 MB a run, which had filled a CI machine's disk.
  if (release) rmSync(release.work, { recursive: true, force: true });
  await stopApp(app);
  if (home) printLogProblems(home);
});

test("the installed app opens a double-clicked .sbatch file as a draft", async () => {
  const title = await browser.$("#draft-title");
  await title.waitForExist({ timeout: 15_000, timeoutMsg: "the script did not open as a draft" });
  console.log(
    `installed app: the draft of the opened script shown ${Date.now() - started} ms after start`,
  );
  const name = await browser.$('input[name="name"]');
  await browser.waitUntil(async () => (await name.getValue()) === "opened-from-file-manager", {
    timeout: 5_000,
    timeoutMsg: "the draft does not hold the script's job name",
  });
  assert.match(await (await browser.$('textarea[name="commands"]')).getValue(), /srun hostname/);
  await browser.saveScreenshot(path.join(out, "installed-draft.png"));
});

test("launches with other scripts hand them to the open window and exit; none is lost", async () => {
  // As a file manager does with two scripts opened at once: two launches, side by side.
  const names = ["handed-over", "handed-over-too"];
  const launches = names.map((name) => {
    const file = path.join(home, `${name}.sbatch`);
    writeFileSync(file, script(name));
    const launched = spawn(app, [file], {
      env: { ...process.env, ...appEnv(home) },
      stdio: "ignore",
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("a second launch did not exit")), 15_000);
      launched.once("exit", (c) => (clearTimeout(timer), resolve(c)));
    });
  });
  assert.deepEqual(await Promise.all(launches), [0, 0]);
  const name = await browser.$('input[name="name"]');
  await browser.waitUntil(async () => names.includes(await name.getValue()), {
    timeout: 10_000,
    timeoutMsg: "the running window did not open the scripts handed over",
  });
  // Both became drafts, next to the one opened at start.
  await (await browser.$("button*=All drafts")).click();
  const wanted = ["opened-from-file-manager", ...names];
  let shown = [];
  const all = await browser
    .waitUntil(
      async () => {
        shown = await browser.$$("li[data-draft] strong").map((e) => e.getText());
        return wanted.every((job) => shown.includes(job));
      },
      { timeout: 5_000 },
    )
    .catch(() => false);
  assert.ok(all, `not every script became a draft; the drafts: ${shown.join(", ")}`);
});

test("a signed update is installed and the app restarts into it; forged ones are refused", async () => {
  const { current, next, good, forged, oldVersion, announce } = release;
  // The check at start found the update: a banner leads to Settings, where it waits.
  const banner = await browser.$("[data-update-banner]");
  await banner.waitForExist({ timeout: 30_000, timeoutMsg: "no update banner after start" });
  assert.match(await banner.getText(), new RegExp(`Usine ${next} is available`));
  await (await banner.$("button=See the update")).click();
  const updates = await browser.$("[data-updates]");
  for (const [what, sig] of [
    ["another file's signature", forged],
    ["an older version's signature", oldVersion],
  ]) {
    announce(sig);
    if (sig !== forged) await (await updates.$("button=Check for updates")).click();
    const found = await updates.$('[data-update-state="found"]');
    await found.waitForExist({ timeout: 10_000, timeoutMsg: `no update found (${what})` });
    assert.equal(await found.getText(), `Usine ${next} is available.`);
    await (await updates.$("button=Install and restart")).click();
    const alert = await updates.$('[role="alert"]');
    await alert.waitForExist({ timeout: 15_000, timeoutMsg: `${what} was not refused` });
    assert.match(await alert.getText(), /^The update was refused: its signature does not match/);
    assert.equal(installedVersion(), current, `${what}: nothing may be installed`);
  }

  announce(good);
  const before = running(app);
  await (await updates.$("button=Check for updates")).click();
  await (await updates.$('[data-update-state="found"]')).waitForExist({ timeout: 10_000 });
  await browser.saveScreenshot(path.join(out, "update-found.png"));
  const clicked = Date.now();
  await (await updates.$("button=Install and restart")).click();
  const deadline = Date.now() + 60_000;
  let restarted = [];
  while (Date.now() < deadline) {
    restarted = running(app).filter((pid) => !before.includes(pid));
    if (installedVersion() === next && restarted.length > 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(installedVersion(), next, "the update was not installed");
  assert.ok(restarted.length > 0, "the app did not start again after the update");
  console.log(
    `  update ${current} → ${next}: installed and restarted ${Date.now() - clicked} ms after the click`,
  );
  for (const pid of running(app)) process.kill(pid, "SIGTERM");
});
