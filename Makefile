# Usine's two everyday commands (see README.md), and a few helpers.
.PHONY: run test deps package lab lab-down lab-smoke dev
.DEFAULT_GOAL := run

## Install what is missing, build, and open the app.
run:
	@scripts/run.sh

## Run every check and test (formatting, lints, lab, Rust, UI, end-to-end) with a summary.
test:
	@scripts/test.sh

## Install build and test dependencies only.
deps:
	@scripts/deps.sh --test

## Build the Linux packages (.deb and .rpm, release) into target/release/bundle/.
package:
	@scripts/package.sh

## Start the Slurm + SSH lab (root), stop it, or check it.
lab:
	@tests/lab/up.sh
lab-down:
	@tests/lab/down.sh
lab-smoke:
	@tests/lab/smoke.sh

## Hot-reloading development app (Vite dev server + cargo): what macOS and Windows developers use.
dev:
	@ui/node_modules/.bin/tauri dev
