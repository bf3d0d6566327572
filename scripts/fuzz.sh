#!/usr/bin/env bash
# Fuzzes every parser of outside output (crates/usine-core/src/fuzz_parsers.rs) for a while:
#   scripts/fuzz.sh [SECONDS_PER_FAMILY] [PARALLEL]     (default 600 s, 2 at a time)
# Release mode, so that a minute covers millions of inputs. A panic stops its family, prints
# the seed to replay it (USINE_FUZZ_SEED) and leaves the input under $TMPDIR/usine-fuzz-failures/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
parallel=${2:-2}
USINE_FUZZ_SECS=$secs cargo test --release --locked -p usine-core --lib fuzz_parsers -- \
  --nocapture --test-threads="$parallel"
