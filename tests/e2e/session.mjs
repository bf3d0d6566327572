// What the end-to-end tests share: a free port, tauri-driver, and a WebDriver session on a
// launcher that starts the app with its own HOME and data folder (WebKitWebDriver does not
// pass the test's environment on).
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import path from "node:path";
import { remote } from "webdriverio";

export function freePort() {
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
    if (Date.now() > deadline) throw new Error(`tauri-driver did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The environment the app gets: a fresh home, its data there, the test's D-Bus session. */
export function appEnv(home) {
  return {
    HOME: home,
    // with-keychain.sh points XDG_DATA_HOME at the keychain's folder; the app's own files
    // (its log among them) belong in the fresh home.
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    USINE_DATA_DIR: path.join(home, "data"),
    // Usine's own code logs everything it would ever log, so the log check sees it all.
    USINE_LOG: "usine_core=debug,usine_app=debug,info",
    DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? "",
    // The desktop's opener (xdg-open) as the test's stand-in, where the test puts one: it
    // records what the app asked to open instead of starting a file manager on the display.
    PATH: `${path.join(home, "bin")}:${process.env.PATH}`,
    // The browser that login pages open in, where the test puts one (the lab's test browser).
    USINE_BROWSER: path.join(home, "bin", "test-browser"),
  };
}

/** Writes `home/usine-app`, which starts `app` (with `args`) in `appEnv(home)`. */
export function writeLauncher(app, home, args = []) {
  const launcher = path.join(home, "usine-app");
  const env = Object.entries(appEnv(home))
    .map(([k, v]) => `${k}='${v}'`)
    .join(" ");
  const quoted = args.map((a) => ` '${a}'`).join("");
  writeFileSync(launcher, `#!/bin/sh\nexport ${env}\nexec '${app}'${quoted} "$@"\n`);
  chmodSync(launcher, 0o755);
  return launcher;
}

/** Starts tauri-driver; `open()` then starts the app behind `launcher` in a new session. */
export async function startDriver(launcher) {
  const port = await freePort();
  const nativePort = await freePort();
  const driver = spawn(
    process.env.TAURI_DRIVER ?? "tauri-driver",
    ["--port", String(port), "--native-port", String(nativePort)],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  await waitForPort(port, 15_000);
  const open = () =>
    remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "warn",
      capabilities: {
        "tauri:options": { application: launcher },
        // WebKitWebDriver does not speak WebDriver BiDi, which webdriverio 9 asks for by default.
        "wdio:enforceWebDriverClassic": true,
      },
    });
  // SIGTERM, never SIGKILL: a killed tauri-driver leaves WebKitWebDriver running and its port taken.
  return { open, stop: () => driver.kill("SIGTERM") };
}

/** The processes whose program is `binary` (by /proc/PID/exe: a command line that only
 * mentions the path, like `env USINE_APP=…`, does not count). */
export function running(binary) {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/exe`) === binary;
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    })
    .map(Number);
}

/**
 * Ends every process of `binary` left when a suite ends, politely first. A test that fails
 * midway leaves the app running, and the app holds the test runner's output pipe open: the
 * runner would then wait for it forever (this is how a failed update test once held CI until
 * its time ran out).
 */
export async function stopApp(binary) {
  const signal = (pids, sig) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  signal(running(binary), "SIGTERM");
  const deadline = Date.now() + 5_000;
  while (running(binary).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  signal(running(binary), "SIGKILL");
}

/** The log of the app run in `home` (its daily files in the platform's log folder). */
export function appLog(home) {
  const dir = path.join(home, ".local", "share", "eu.usine.desktop", "logs");
  if (!existsSync(dir)) return "";
  return readdirSync(dir)
    .filter((f) => /^usine\.\d{4}-\d{2}-\d{2}\.log$/.test(f))
    .map((f) => readFileSync(path.join(dir, f), "utf8"))
    .join("");
}

/** Prints the warnings and errors the app logged in `home`: what a failed run needs first. */
export function printLogProblems(home) {
  const problems = appLog(home)
    .split("\n")
    .filter((line) => / (WARN|ERROR) /.test(line));
  if (problems.length > 0) console.log(`app log, warnings and errors:\n${problems.join("\n")}`);
}
