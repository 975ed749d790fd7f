#!/usr/bin/env bash
# What a maintenance lease costs a backup run: times `potion-backup run` with
# nothing changed (the nightly common case, where the lease's own write and
# removal weigh most) for a baseline binary and this one, in one go, on
# the same tree, interleaved by hyperfine. Prints means, the ratio and peak RSS.
#
#   BASE=/path/to/main/potion-backup bench/lease.sh
#
# Env: BASE (required: the binary to compare with, e.g. built from main),
#      BIN (default: builds target/release/potion-backup), BENCH_FILES (2000),
#      BENCH_RUNS (30), BENCH_DIR (/var/tmp/potion-lease-bench: a real disk,
#      not tmpfs, so fsync costs what it costs). Needs hyperfine.
set -euo pipefail

FILES=${BENCH_FILES:-2000}
RUNS=${BENCH_RUNS:-30}
WORK=${BENCH_DIR:-/var/tmp/potion-lease-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ -n "${BASE:-}" ] || { echo "bench/lease.sh: set BASE to the baseline potion-backup" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "bench/lease.sh: hyperfine is missing" >&2; exit 2; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin potion-backup
  BIN="$ROOT/target/release/potion-backup"
fi

rm -rf "$WORK"
mkdir -p "$WORK/src" "$WORK/app/state"
trap 'rm -rf "$WORK"' EXIT
for ((i = 0; i < FILES; i++)); do
  d="$WORK/src/d$((i % 50))"
  [ -d "$d" ] || mkdir "$d"
  printf '%08d' "$i" > "$d/f$i"
done
printf 'APP_DIR=%s\nDATA_MOUNT=/\nBACKUP_DIR=%s\nBACKUP_SOURCES=%s\n' \
  "$WORK/app" "$WORK/backups" "$WORK/src" > "$WORK/app/.env"
"$BASE" --env "$WORK/app/.env" run >/dev/null

hyperfine --style basic -N --warmup 3 --runs "$RUNS" --export-json "$WORK/h.json" \
  -n base "$BASE --env $WORK/app/.env run" \
  -n lease "$BIN --env $WORK/app/.env run"
python3 - "$WORK/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
b, l = r["base"], r["lease"]
print(f"mean base {b['mean']*1e3:.1f} ms, lease {l['mean']*1e3:.1f} ms, ratio {l['mean']/b['mean']:.3f}")
print(f"median base {b['median']*1e3:.1f} ms, lease {l['median']*1e3:.1f} ms, ratio {l['median']/b['median']:.3f}")
PY
for n in base lease; do
  bin=$BASE; [ "$n" = lease ] && bin=$BIN
  /usr/bin/time -f "$n peak RSS %M KiB" "$bin" --env "$WORK/app/.env" run >/dev/null
done
[ -z "$(ls "$WORK/app/state" | grep '^lease-' || true)" ] || { echo "a lease file was left behind" >&2; exit 1; }
