#!/usr/bin/env bash
# Times chart::render on a week of minute samples (10,080) in a release build
# and prints the result; the test itself fails above the 100 ms budget.
# Usage: bench/chart.sh   (from anywhere in the worktree)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --lib chart::tests::week_of_minutes_renders_fast -- --nocapture 2>&1 \
  | grep -E '^chart:|test result|panicked'
