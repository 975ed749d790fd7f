#!/usr/bin/env bash
# Benchmark: the whole potion-health process against bench/health_psutil.py
# (/usr/bin/python3 + psutil doing the same work), in the same run.
# Prints median wall time of each, their ratio, peak RSS and the number of
# child processes per run, once without SERVICES and once with two units
# and two HTTP probes (two local HTTP servers).
#
#   bench/health.sh                 # RUNS=200 by default
#   RUNS=50 BENCH_LOOP=0 bench/health.sh
#
# As root, and when systemd is not PID 1 here, the whole benchmark runs inside
# a real systemd booted by tests/systemd_support/real-systemd.sh, so both
# sides ask a real systemd (BENCH_SYSTEMD=0 skips that). The state folders
# live on a small journaled ext4 image on a loop device (the root file system
# here has no journal, which would flatter the fsyncs both sides do);
# BENCH_LOOP=0 skips that.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && [ "${BENCH_SYSTEMD:-1}" = 1 ] && [ -z "${BENCH_INNER:-}" ] &&
  [ "$(cat /proc/1/comm)" != systemd ]; then
  cargo build --release --quiet --bin potion-health
  rs=tests/systemd_support/real-systemd.sh
  export RS_NAME=bench-health-$$ RS_BIND=$PWD
  "$rs" up >/dev/null
  trap '"$rs" down >/dev/null' EXIT
  # No loop devices inside its namespaces: the state folders stay on its root.
  "$rs" exec env BENCH_INNER=1 BENCH_LOOP=0 RUNS="${RUNS:-200}" ROUNDS="${ROUNDS:-5}" \
    BENCH_UNITS="${BENCH_UNITS:-systemd-journald.service,dbus.service}" "$PWD/bench/health.sh"
  exit
fi

RUNS=${RUNS:-200}
UNITS=${BENCH_UNITS:-ssh.service,cron.service}
PY=/usr/bin/python3
BASELINE=$PWD/bench/health_psutil.py
DATA_MOUNT=${BENCH_DATA_MOUNT:-/mnt/potion-data}

[ -n "${BENCH_INNER:-}" ] || cargo build --release --quiet --bin potion-health
BIN=$PWD/target/release/potion-health

work=$(mktemp -d)
dev=""
cleanup() {
  if [ -n "$dev" ]; then
    umount "$work/mnt" || true
    losetup -d "$dev" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Two local HTTP servers for the probes (both sides GET the same two URLs).
servers=()
ports=()
for i in 1 2; do
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/www$i" && echo ok >"$work/www$i/index.html"
  "$PY" -m http.server --bind 127.0.0.1 --directory "$work/www$i" "$port" >/dev/null 2>&1 &
  servers+=($!)
  ports+=("$port")
done
stop_servers() { kill "${servers[@]}" 2>/dev/null || true; cleanup; }
trap stop_servers EXIT
for port in "${ports[@]}"; do
  for _ in $(seq 50); do
    "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
    sleep 0.1
  done
done
PROBES="ollama=http://127.0.0.1:${ports[0]}/,rag=http://127.0.0.1:${ports[1]}/"

root=$work
if [ "$(id -u)" = 0 ] && [ "${BENCH_LOOP:-1}" = 1 ]; then
  truncate -s 64M "$work/fs.img"
  mkfs.ext4 -q -j "$work/fs.img"
  dev=$(losetup --direct-io=on -f --show "$work/fs.img")
  mkdir "$work/mnt"
  mount "$dev" "$work/mnt"
  root=$work/mnt
  echo "state folders on journaled ext4 ($dev)"
fi

peak_rss_kib() { # prints the largest "Maximum resident set size" over 5 runs
  local max=0 kb
  for _ in 1 2 3 4 5; do
    kb=$(/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}')
    [ "$kb" -gt "$max" ] && max=$kb
  done
  echo "$max"
}

children() { # child processes one run starts (execve calls minus its own)
  if ! command -v strace >/dev/null; then echo "n/a"; return; fi
  # Only successful execve calls count: a PATH search logs one failed call per folder.
  strace -f -qq -e trace=execve -o "$work/strace.log" "$@" >/dev/null 2>&1 || true
  echo $(( $(grep -cE '(execve\(.*|execve resumed>.*)\) += 0' "$work/strace.log") - 1 ))
}

bench() { # $1: label, $2: SERVICES value, $3: PROBE_URLS value (either may be empty)
  local label=$1 services=$2
  export PROBE_URLS=$3
  local rs=$root/rs-$label py=$root/py-$label
  mkdir -p "$rs" "$py"
  printf 'SERVICES=%s\n' "$services" >"$work/$label.env"
  # System settings are not taken from .env: the environment names them
  # (honoured for root's and a user's own process alike).
  export APP_DIR=$rs DATA_MOUNT
  local rust_cmd=("$BIN" --env "$work/$label.env")
  local py_cmd=("$PY" "$BASELINE" "$py/state" "$DATA_MOUNT")
  if [ -n "$services" ]; then
    IFS=, read -r -a units <<<"$services"
    py_cmd+=("${units[@]}")
  fi
  echo
  echo "== $label (SERVICES=${services:-<empty>} PROBE_URLS=${PROBE_URLS:-<empty>}) =="
  # With SERVICES, systemctl alone is timed too: it is a floor both sides share.
  local floor=()
  if [ -n "$services" ]; then
    floor=(-n systemctl-alone "systemctl show --property=Id,ActiveState,SubState -- ${units[*]}")
  fi
  # Several short rounds alternate the commands, so load from other work on
  # the machine drifting during the run hits both sides alike.
  local rounds=${ROUNDS:-5} i
  for i in $(seq "$rounds"); do
    hyperfine --shell=none --ignore-failure --warmup 3 --runs $(( (RUNS + rounds - 1) / rounds )) \
      --style none --export-json "$work/$label.$i.json" \
      -n potion-health "${rust_cmd[*]}" -n python-psutil "${py_cmd[*]}" "${floor[@]}" \
      2>"$work/hyperfine.err" || { cat "$work/hyperfine.err" >&2; exit 1; }
  done
  "$PY" - "$work/$label".*.json <<'EOF'
import json, statistics, sys
times = {}
for path in sys.argv[1:]:
    for x in json.load(open(path))["results"]:
        times.setdefault(x["command"], []).extend(x["times"])
r = {k: statistics.median(v) for k, v in times.items()}
rs, py = r["potion-health"], r["python-psutil"]
print("median wall: potion-health %.2f ms, python+psutil %.2f ms, ratio %.3f (goal <= 0.10)"
      % (rs * 1e3, py * 1e3, rs / py))
if "systemctl-alone" in r:
    print("median wall of systemctl show alone: %.2f ms" % (r["systemctl-alone"] * 1e3))
EOF
  echo "peak RSS: potion-health $(peak_rss_kib "${rust_cmd[@]}") KiB," \
    "python+psutil $(peak_rss_kib "${py_cmd[@]}") KiB (goal <= 8192 KiB)"
  # Both sides must have seen the same world: what each read, and its errors.
  "$PY" - "$rs/state/last_health.json" "$py/state/last_health.json" <<'EOF'
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    seen = [(s["unit"], s["active"]) for s in r["services"]] + [(p["name"], p["ok"]) for p in r["probes"]]
    print("  %s: %s errors=%s" % (path.split("/")[-3], seen, r["errors"]))
EOF
  echo "child processes per run: potion-health $(children "${rust_cmd[@]}")," \
    "python+psutil $(children "${py_cmd[@]}")"
}

bench no-services "" ""
bench services "$UNITS" "$PROBES"
