#!/usr/bin/env node
// Lists the longest Tauri commands and CLI subcommands: each should be a few lines (state in,
// one call into the core's use case, emit, out); a longer one holds a rule that belongs in the
// core. Functions over LIMIT lines that are known (adapter-lengths.allow) may not grow; any other
// over LIMIT fails. Shrinking one below LIMIT: delete its line from the allow file.
// Usage: node scripts/adapter-lengths.mjs [--top N]
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const LIMIT = 15;
const root = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  "..",
);
const allowFile = path.join(root, "scripts", "adapter-lengths.allow");

/** Every `fn` in `file` that is a Tauri command (or, for the CLI, a public subcommand). */
function functions(file, isCommand) {
  const lines = readFileSync(file, "utf8").split("\n");
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^(pub )?(async )?fn (\w+)/);
    if (!m || !isCommand(lines, i, m)) continue;
    // The body: from the line with the opening brace to the matching closing one.
    let depth = 0;
    let start = -1;
    let end = i;
    for (let j = i; j < lines.length; j++) {
      for (const c of lines[j].replace(/"(\\.|[^"\\])*"/g, '""')) {
        if (c === "{") {
          if (start < 0) start = j;
          depth++;
        } else if (c === "}") depth--;
      }
      if (start >= 0 && depth === 0) {
        end = j;
        break;
      }
    }
    found.push({
      name: `${path.relative(root, file)}:${m[3]}`,
      lines: end - start - 1,
    });
  }
  return found;
}

const tauriCommand = (lines, i) => {
  for (let k = i - 1; k >= 0 && lines[k].trim().startsWith("#["); k--)
    if (lines[k].includes("tauri::command")) return true;
  return false;
};
const cliSubcommand = (_lines, _i, m) => Boolean(m[1]);

const all = [];
const dir = (d) =>
  readdirSync(path.join(root, d)).filter((f) => f.endsWith(".rs"));
for (const f of dir("src-tauri/src"))
  all.push(...functions(path.join(root, "src-tauri/src", f), tauriCommand));
for (const f of dir("crates/usine-cli/src").filter((f) =>
  f.endsWith("_cmd.rs"),
))
  all.push(
    ...functions(path.join(root, "crates/usine-cli/src", f), cliSubcommand),
  );
all.sort((a, b) => b.lines - a.lines);

const top = Number(process.argv[process.argv.indexOf("--top") + 1]) || 10;
console.log(
  `The ${top} longest of ${all.length} commands and subcommands (limit ${LIMIT} lines):`,
);
for (const f of all.slice(0, top))
  console.log(`  ${String(f.lines).padStart(4)}  ${f.name}`);

const allowed = new Map(
  readFileSync(allowFile, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => l.trim().split(/\s+/))
    .map(([n, name]) => [name, Number(n)]),
);
const wrong = [];
for (const f of all.filter((f) => f.lines > LIMIT)) {
  const known = allowed.get(f.name);
  if (known === undefined)
    wrong.push(
      `${f.name} has ${f.lines} lines: move its rules into a core use case`,
    );
  else if (f.lines > known)
    wrong.push(`${f.name} grew from ${known} to ${f.lines} lines`);
}
const over = all.filter((f) => f.lines > LIMIT).length;
console.log(`${over} over the limit (${allowed.size} known, may not grow).`);
if (wrong.length > 0) {
  for (const w of wrong) console.error(`  ${w}`);
  process.exit(1);
}
