#!/usr/bin/env bash
# Benchmark potion-backup against rsync and b3sum in one go, on a journaled
# ext4 loop image with a warm page cache. Prints medians and ratios.
#
#   sudo bench/backup.sh                     # 20,000 files, ~1.6 GiB
#   BENCH_FILES=2000 BENCH_RUNS=3 sudo bench/backup.sh   # small and quick
#
# Env: BENCH_FILES (20000), BENCH_RUNS (5), BENCH_DIR (/var/tmp/potion-bench),
#      BENCH_KEEP=1 keeps the image mounted afterwards, BIN (default: builds
#      target/release/potion-backup). Needs root (losetup, mount), rsync, b3sum.
set -euo pipefail

FILES=${BENCH_FILES:-20000}
RUNS=${BENCH_RUNS:-5}
WORK=${BENCH_DIR:-/var/tmp/potion-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" = 0 ] || { echo "bench/backup.sh: run as root (it mounts a loop image)" >&2; exit 2; }
for t in rsync b3sum mkfs.ext4 losetup /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "bench/backup.sh: $t is missing (b3sum: cargo install b3sum)" >&2; exit 2; }
done
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin potion-backup
  BIN="$ROOT/target/release/potion-backup"
fi

MNT="$WORK/mnt"
IMG="$WORK/ext4.img"
mkdir -p "$MNT"
cleanup() {
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    umount "$MNT" 2>/dev/null || true
    [ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null || true
    rm -f "$IMG"
  fi
}
trap cleanup EXIT

# Source, two full copies and metadata fit in 4x the data; the image is sparse.
SIZE_MB=$(( FILES * 84 / 1000 * 4 + 1024 ))
umount "$MNT" 2>/dev/null || true
rm -f "$IMG"
truncate -s "${SIZE_MB}M" "$IMG"
mkfs.ext4 -q -F -j "$IMG"
LOOP=$(losetup --find --show --direct-io=on "$IMG")
mount "$LOOP" "$MNT"
SRC="$MNT/src"

echo "generating $FILES files on $LOOP (ext4, journaled) ..."
/usr/bin/python3 - "$SRC" "$FILES" <<'PY'
import os, random, sys
src, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
pool = os.urandom(8 << 20)
total = 0
for i in range(n):
    d = os.path.join(src, f"d{i // 100:03d}")
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    # 93% small (1-64 KiB), 7% large (64 KiB-4 MiB), log-uniform: ~84 KB mean.
    lo, hi = (1 << 10, 64 << 10) if rng.random() < 0.93 else (64 << 10, 4 << 20)
    size = int(lo * (hi / lo) ** rng.random())
    off = rng.randrange(0, len(pool) - size)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(pool[off:off + size])
    total += size
print(f"{n} files, {total / (1 << 30):.2f} GiB")
PY
sync
find "$SRC" -type f -exec cat {} + >/dev/null   # warm cache

mkdir -p "$MNT/app/state"
: > "$MNT/app/.env"
export DATA_MOUNT="$MNT" BACKUP_SOURCES="$SRC" APP_DIR="$MNT/app" STATE_DIR="$MNT/app/state"
export POTION_LOG=warn BACKUP_DIR="$MNT/bk"

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a - b }'; }
# timeit VAR cmd...: appends the wall time of cmd to the array VAR.
timeit() {
  local var=$1; shift
  local t0 t1
  t0=$(now); "$@" >/dev/null; t1=$(now)
  eval "$var+=($(sub "$t1" "$t0"))"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
fresh() { rm -rf "$@"; sync; }

full_rsync=(); full_rsync_sync=(); full_ours=()
inc_rsync=(); inc_ours=(); cpal=()
ver_b3=(); ver_ours=()

echo "timing $RUNS rounds ..."
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$RUNS"); do
  # Full snapshot: rsync -a (no hashing, no fsync) vs potion-backup (hash + manifest + sync).
  # (the link copies go too: they keep the previous round's data alive)
  fresh "$MNT/rsync-full" "$MNT/rsync-inc" "$MNT/cpal"
  t0=$(now); rsync -a "$SRC/" "$MNT/rsync-full/"; t1=$(now); sync; t2=$(now)
  full_rsync+=("$(sub "$t1" "$t0")"); full_rsync_sync+=("$(sub "$t2" "$t0")")
  fresh "$MNT/bk"
  timeit full_ours "$BIN" --env "$MNT/app/.env" run

  # Incremental with nothing changed: rsync --link-dest vs potion-backup vs the cp -al floor.
  fresh "$MNT/rsync-inc"
  timeit inc_rsync rsync -a --link-dest="$MNT/rsync-full/" "$SRC/" "$MNT/rsync-inc/"
  sync
  timeit inc_ours "$BIN" --env "$MNT/app/.env" run
  sync
  fresh "$MNT/cpal"
  timeit cpal cp -al "$SRC" "$MNT/cpal"

  # Verify the snapshot against b3sum --check over the same files.
  latest=$(ls "$MNT/bk/snapshots" | grep -v '^\.' | sort | tail -1)
  if [ "$r" = 1 ]; then
    (cd "$MNT/bk/snapshots/$latest" && find . -type f -print0 | xargs -0 b3sum) > "$MNT/sums.b3"
  fi
  pushd "$MNT/bk/snapshots/$latest" >/dev/null
  timeit ver_b3 b3sum --check --quiet "$MNT/sums.b3"
  popd >/dev/null
  timeit ver_ours "$BIN" --env "$MNT/app/.env" verify "$latest"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
m_fr=$(median "${full_rsync[@]}"); m_frs=$(median "${full_rsync_sync[@]}"); m_fo=$(median "${full_ours[@]}")
m_ir=$(median "${inc_rsync[@]}"); m_io=$(median "${inc_ours[@]}"); m_cp=$(median "${cpal[@]}")
m_vb=$(median "${ver_b3[@]}"); m_vo=$(median "${ver_ours[@]}")
echo
echo "median of $RUNS runs, $FILES files, $(du -sh "$SRC" | cut -f1), $(nproc) cores, load average $load0 at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end"
printf '%-44s %8ss\n' "rsync -a" "$m_fr" "rsync -a + sync" "$m_frs" "potion-backup run (full, incl. sync)" "$m_fo" \
  "rsync -a --link-dest (nothing changed)" "$m_ir" "potion-backup run (nothing changed)" "$m_io" "cp -al (floor)" "$m_cp" \
  "b3sum --check" "$m_vb" "potion-backup verify" "$m_vo"
echo
echo "full snapshot     / rsync -a             = $(ratio "$m_fo" "$m_fr")  (goal <= 1.0; vs rsync -a + sync: $(ratio "$m_fo" "$m_frs"))"
echo "incremental       / rsync --link-dest    = $(ratio "$m_io" "$m_ir")  (goal <= 0.35; cp -al floor: $(ratio "$m_cp" "$m_ir"))"
echo "verify            / b3sum --check        = $(ratio "$m_vo" "$m_vb")  (goal <= 1.1)"
