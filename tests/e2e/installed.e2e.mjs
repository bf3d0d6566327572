// End-to-end check of the installed package: the binary dpkg put in /usr/bin, started the way
// the file manager does when a .sbatch file is double-clicked (the file as its argument).
//   USINE_APP  the installed app (default /usr/bin/usine-app)
//   E2E_OUT    folder for screenshots (default: ./out)
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { appEnv, startDriver, writeLauncher } from "./session.mjs";

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

before(async () => {
  mkdirSync(out, { recursive: true });
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

test("a second launch with another script hands it to the open window and exits", async () => {
  const second = path.join(home, "second.sbatch");
  writeFileSync(second, script("handed-over"));
  const launched = spawn(app, [second], {
    env: { ...process.env, ...appEnv(home) },
    stdio: "ignore",
  });
  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the second launch did not exit")), 15_000);
    launched.once("exit", (c) => (clearTimeout(timer), resolve(c)));
  });
  assert.equal(code, 0);
  const name = await browser.$('input[name="name"]');
  await browser.waitUntil(async () => (await name.getValue()) === "handed-over", {
    timeout: 10_000,
    timeoutMsg: "the running window did not open the second script",
  });
});
