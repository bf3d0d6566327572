#!/usr/bin/env node
// Writes the updater's latest.json for a release: every bundle given that has its signature
// (BUNDLE.sig, written by `tauri build` with the signing key) becomes one platform entry that
// the installed apps pick by system, processor and kind of package.
//   node scripts/latest-json.mjs --version 0.2.0 --url-base URL [--notes TEXT] BUNDLE...
// URL-base is where the bundles are downloaded from (for GitHub: …/releases/download/vX.Y.Z).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: {
    version: { type: "string" },
    "url-base": { type: "string" },
    notes: { type: "string", default: "" },
    "mac-arch": { type: "string", default: "aarch64" },
  },
  allowPositionals: true,
});
if (!values.version || !values["url-base"]) {
  console.error(
    "usage: latest-json.mjs --version X.Y.Z --url-base URL [--notes TEXT] BUNDLE...",
  );
  process.exit(2);
}

const arch = (name) =>
  /(amd64|x86_64|x64)/.test(name)
    ? "x86_64"
    : /(arm64|aarch64)/.test(name)
      ? "aarch64"
      : null;

/** The updater's platform key for a bundle file, or null for a file it cannot install. */
function platform(file) {
  const name = path.basename(file);
  const kinds = [
    [/\.deb$/, "linux", "deb"],
    [/\.rpm$/, "linux", "rpm"],
    [/\.AppImage$/, "linux", "appimage"],
    [/\.msi$/, "windows", "msi"],
    [/-setup\.exe$/, "windows", "nsis"],
    [/\.app\.tar\.gz$/, "darwin", "app"],
  ];
  for (const [pattern, os, kind] of kinds) {
    if (!pattern.test(name)) continue;
    const cpu = os === "darwin" ? values["mac-arch"] : arch(name);
    return cpu ? `${os}-${cpu}-${kind}` : null;
  }
  return null;
}

const platforms = {};
for (const file of positionals) {
  const key = platform(file);
  if (!key || !existsSync(`${file}.sig`)) {
    console.error(
      `skipped ${file}: ${key ? "no signature next to it" : "not an update bundle"}`,
    );
    continue;
  }
  platforms[key] = {
    signature: readFileSync(`${file}.sig`, "utf8"),
    url: `${values["url-base"].replace(/\/$/, "")}/${encodeURIComponent(path.basename(file))}`,
  };
}
if (Object.keys(platforms).length === 0) {
  console.error("no signed bundle given: nothing to announce");
  process.exit(1);
}
process.stdout.write(
  `${JSON.stringify(
    {
      version: values.version,
      notes: values.notes,
      pub_date: new Date().toISOString(),
      platforms,
    },
    null,
    2,
  )}\n`,
);
