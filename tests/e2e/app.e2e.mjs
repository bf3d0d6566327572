// End-to-end: the real Usine binary in its real WebView (WebKitGTK), driven through tauri-driver
// and WebKitWebDriver. Run under a display, e.g. `xvfb-run -a node --test app.e2e.mjs`.
//   USINE_APP      absolute path of the app binary built with embedded assets (required)
//   E2E_OUT        folder for screenshots (default: ./out)
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { remote } from "webdriverio";

const app = process.env.USINE_APP;
const out = path.resolve(process.env.E2E_OUT ?? "out");
const tauriDriver = process.env.TAURI_DRIVER ?? "tauri-driver";

let driver;
let browser;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`tauri-driver did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  assert.ok(
    app && path.isAbsolute(app),
    "set USINE_APP to the absolute path of the app binary",
  );
  mkdirSync(out, { recursive: true });
  const port = await freePort();
  const nativePort = await freePort();
  driver = spawn(
    tauriDriver,
    ["--port", String(port), "--native-port", String(nativePort)],
    {
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  await waitForPort(port, 15_000);
  browser = await remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    capabilities: {
      "tauri:options": { application: app },
      // WebKitWebDriver does not speak WebDriver BiDi, which webdriverio 9 asks for by default.
      "wdio:enforceWebDriverClassic": true,
    },
  });
});

after(async () => {
  await browser?.deleteSession().catch(() => {});
  // SIGTERM, never SIGKILL: a killed tauri-driver leaves WebKitWebDriver running and its port taken.
  driver?.kill("SIGTERM");
});

test("Home shows This computer with live CPU and memory figures", async () => {
  const started = Date.now();
  const card = await browser.$('[data-target-id="this-computer"]');
  await card.waitForExist({ timeout: 15_000 });
  assert.equal(await card.$("h2").getText(), "This computer");

  const cpu = card.$('[data-metric="cpu"]');
  await browser.waitUntil(async () => /\d+[.,]\d %/.test(await cpu.getText()), {
    timeout: 10_000,
    timeoutMsg: "no CPU figure within 10 s",
  });
  console.log(
    `first CPU figure ${Date.now() - started} ms after the session started`,
  );
  assert.match(await cpu.getText(), /\d+ CPUs/);
  assert.match(await card.$('[data-metric="memory"]').getText(), /\d.* \/ \d/);

  // Live: a newer sample must replace the first one (Rust pushes one about every second).
  const first = Number(await card.getAttribute("data-sampled-at"));
  await browser.waitUntil(
    async () => Number(await card.getAttribute("data-sampled-at")) > first,
    {
      timeout: 5_000,
      timeoutMsg: "the CPU figure was not refreshed within 5 s",
    },
  );
  await browser.saveScreenshot(path.join(out, "home.png"));
});

test("the sidebar reaches every section and comes back Home", async () => {
  const sections = [
    "Drafts",
    "Jobs",
    "Data",
    "Monitor",
    "Clusters",
    "Settings",
  ];
  for (const name of sections) {
    const button = await browser.$(
      `nav button[data-screen="${name.toLowerCase()}"]`,
    );
    await button.click();
    const heading = await browser.$("main h1");
    await browser.waitUntil(async () => (await heading.getText()) === name, {
      timeout: 3_000,
      timeoutMsg: `the ${name} section did not open`,
    });
    assert.equal(await button.getAttribute("aria-current"), "page");
  }
  await (await browser.$('nav button[data-screen="home"]')).click();
  await (
    await browser.$('[data-target-id="this-computer"]')
  ).waitForExist({ timeout: 3_000 });
});
