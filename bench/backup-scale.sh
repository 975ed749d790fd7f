#!/usr/bin/env bash
# Backups at the scale of a real home server (issue 11), in one run on a
# journaled ext4 loop image with a warm page cache:
#   - 20k and 200k small files (256 B each, 500 per folder): full run against
#     `rsync -a`, nothing-changed run against `rsync -a --link-dest` and the
#     `cp -al` floor, verify against `b3sum --check`, peak RSS (`/usr/bin/time
#     -f %M`) of each, and manifest bytes per file (full + nothing changed);
#   - a mixed tree with hard links and a 4 GiB sparse file: are the links kept
#     and is the copy as small as the data?
#
#   sudo bench/backup-scale.sh
#   BENCH_SIZES="2000 20000" BENCH_RUNS=1 sudo bench/backup-scale.sh   # quick
#
# Env: BENCH_SIZES ("20000 200000"), BENCH_RUNS (3, medians), BENCH_DIR
#      (/var/tmp/potion-bench-scale), BIN (default: builds target/release/potion-backup).
# Needs root (losetup, mount), rsync, b3sum, /usr/bin/time (apt-get install time).
set -euo pipefail

SIZES=${BENCH_SIZES:-20000 200000}
RUNS=${BENCH_RUNS:-3}
WORK=${BENCH_DIR:-/var/tmp/potion-bench-scale}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" = 0 ] || { echo "bench/backup-scale.sh: run as root (it mounts a loop image)" >&2; exit 2; }
for t in rsync b3sum mkfs.ext4 losetup /usr/bin/python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench/backup-scale.sh: $t is missing" >&2; exit 2; }
done
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin potion-backup
  BIN="$ROOT/target/release/potion-backup"
fi

MNT="$WORK/mnt"
IMG="$WORK/ext4.img"
mkdir -p "$MNT"
cleanup() {
  umount "$MNT" 2>/dev/null || true
  [ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null || true
  rm -f "$IMG"
}
trap cleanup EXIT

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
# timeit VAR cmd...: appends the wall time of cmd to the array VAR.
timeit() {
  local var=$1; shift
  local t0 t1
  t0=$(now); "$@" >/dev/null; t1=$(now)
  eval "$var+=($(sub "$t1" "$t0"))"
}
# rss VAR cmd...: runs cmd, appends its peak RSS in MiB to VAR.
rss() {
  local var=$1; shift
  /usr/bin/time -f %M -o "$WORK/rss" "$@" >/dev/null
  eval "$var+=($(awk '{ printf "%.1f", $1 / 1024 }' "$WORK/rss"))"
}
max() { printf '%s\n' "$@" | sort -g | tail -1; }

# One image for everything: sources and all copies share its inodes.
MAXF=0; for n in $SIZES; do [ "$n" -gt "$MAXF" ] && MAXF=$n; done
SIZE_MB=$(( MAXF * 4 * 5 / 1000 + 6144 ))
umount "$MNT" 2>/dev/null || true
rm -f "$IMG"
truncate -s "${SIZE_MB}M" "$IMG"
mkfs.ext4 -q -F -j -N $(( MAXF * 6 + 100000 )) "$IMG"
LOOP=$(losetup --find --show --direct-io=on "$IMG")
mount "$LOOP" "$MNT"
mkdir -p "$MNT/app/state"
: > "$MNT/app/.env"
export DATA_MOUNT="$MNT" APP_DIR="$MNT/app" STATE_DIR="$MNT/app/state" POTION_LOG=warn
run_bk() { "$BIN" --env "$MNT/app/.env" "$@"; }
latest() { ls "$MNT/bk/snapshots" | grep -v '^\.' | sort | tail -1; }
fresh() { rm -rf "$@"; sync; }
summary=()

for N in $SIZES; do
  SRC="$MNT/src$N"
  echo "== $N files of 256 B, 500 per folder, on $LOOP (ext4, journaled) =="
  /usr/bin/python3 - "$SRC" "$N" <<'PY'
import os, sys
src, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(src, f"d{i // 500:04d}")
    if i % 500 == 0:
        os.makedirs(d, exist_ok=True)
    # Random content: every file (and so every hash) differs.
    with open(os.path.join(d, f"f{i:07d}.dat"), "wb") as f:
        f.write(os.urandom(256))
PY
  sync
  find "$SRC" -type f -exec cat {} + >/dev/null
  export BACKUP_SOURCES="$SRC" BACKUP_DIR="$MNT/bk"
  full_rsync=(); full_ours=(); inc_rsync=(); inc_ours=(); cpal=(); ver_b3=(); ver_ours=()
  rss_full=(); rss_inc=(); rss_ver=(); per_file=(); inc_rounds=(); loads=()
  for r in $(seq "$RUNS"); do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    fresh "$MNT/rsync-full" "$MNT/rsync-inc" "$MNT/cpal" "$MNT/bk"
    timeit full_rsync rsync -a "$SRC/" "$MNT/rsync-full/"
    sync
    t0=$(now); rss rss_full "$BIN" --env "$MNT/app/.env" run; t1=$(now); full_ours+=("$(sub "$t1" "$t0")")
    full_id=$(latest)
    sync
    timeit inc_rsync rsync -a --link-dest="$MNT/rsync-full/" "$SRC/" "$MNT/rsync-inc/"
    sync
    t0=$(now); rss rss_inc "$BIN" --env "$MNT/app/.env" run; t1=$(now); inc_ours+=("$(sub "$t1" "$t0")")
    inc_rounds+=("$(ratio "${inc_ours[-1]}" "${inc_rsync[-1]}")")
    sync
    timeit cpal cp -al "$SRC" "$MNT/cpal"
    inc_id=$(latest)
    bytes=$(( $(stat -c %s "$MNT/bk/manifests/$full_id.manifest") + $(stat -c %s "$MNT/bk/manifests/$inc_id.manifest") ))
    per_file+=("$(awk -v b="$bytes" -v n="$N" 'BEGIN { printf "%.1f", b / (2 * n) }')")
    if [ "$r" = 1 ]; then
      (cd "$MNT/bk/snapshots/$inc_id" && find . -type f -print0 | xargs -0 b3sum) > "$WORK/sums.b3"
    fi
    pushd "$MNT/bk/snapshots/$inc_id" >/dev/null
    timeit ver_b3 b3sum --check --quiet "$WORK/sums.b3"
    popd >/dev/null
    t0=$(now); rss rss_ver "$BIN" --env "$MNT/app/.env" verify "$inc_id"; t1=$(now); ver_ours+=("$(sub "$t1" "$t0")")
  done
  m_fr=$(median "${full_rsync[@]}"); m_fo=$(median "${full_ours[@]}")
  m_ir=$(median "${inc_rsync[@]}"); m_io=$(median "${inc_ours[@]}"); m_cp=$(median "${cpal[@]}")
  m_vb=$(median "${ver_b3[@]}"); m_vo=$(median "${ver_ours[@]}")
  printf '%-44s %8ss\n' "rsync -a" "$m_fr" "potion-backup run (full, incl. sync)" "$m_fo" \
    "rsync -a --link-dest (nothing changed)" "$m_ir" "potion-backup run (nothing changed)" "$m_io" \
    "cp -al (floor)" "$m_cp" "b3sum --check" "$m_vb" "potion-backup verify" "$m_vo"
  line="$N files: full/rsync -a $(ratio "$m_fo" "$m_fr"); nothing-changed/rsync --link-dest $(ratio "$m_io" "$m_ir") (cp -al $(ratio "$m_cp" "$m_ir"); rounds ${inc_rounds[*]}; load ${loads[*]}); verify/b3sum $(ratio "$m_vo" "$m_vb"); peak RSS run $(max "${rss_full[@]}") / $(max "${rss_inc[@]}") MiB (full / nothing changed), verify $(max "${rss_ver[@]}") MiB; manifest $(median "${per_file[@]}") B/file"
  echo "$line"
  summary+=("$line")
  fresh "$MNT/rsync-full" "$MNT/rsync-inc" "$MNT/cpal" "$MNT/bk" "$SRC"
done

echo "== mixed tree: 2,000 files, 500 hard-linked names, a 4 GiB sparse file =="
SRC="$MNT/mixed"
mkdir -p "$SRC/docs" "$SRC/links" "$SRC/vm"
for i in $(seq 0 1999); do head -c $(( (i * 997) % 65536 + 1 )) /dev/urandom > "$SRC/docs/f$i"; done
for i in $(seq 0 499); do ln "$SRC/docs/f$i" "$SRC/links/l$i"; done
truncate -s 4G "$SRC/vm/disk.img"
printf 'boot' | dd of="$SRC/vm/disk.img" bs=1 seek=4096 conv=notrunc status=none
printf 'end' | dd of="$SRC/vm/disk.img" bs=1 seek=$(( (4 << 30) - 3 )) conv=notrunc status=none
sync
export BACKUP_SOURCES="$SRC" BACKUP_DIR="$MNT/bk"
fresh "$MNT/bk"
t0=$(now); run_bk run; t1=$(now)
id=$(latest)
snap="$MNT/bk/snapshots/$id${SRC}"
src_kib=$(du -sk "$SRC" | cut -f1); snap_kib=$(du -sk "$snap" | cut -f1)
same=$([ "$(stat -c %i "$snap/docs/f7")" = "$(stat -c %i "$snap/links/l7")" ] && echo yes || echo no)
run_bk verify "$id" >/dev/null && ok=ok || ok=FAILED
line="mixed: run $(sub "$t1" "$t0") s; source $src_kib KiB allocated, snapshot $snap_kib KiB (sparse kept: $([ "$snap_kib" -lt $(( src_kib * 2 )) ] && echo yes || echo no)); hard links kept: $same; verify: $ok"
echo "$line"
summary+=("$line")

echo
echo "summary ($(nproc) cores, median of $RUNS):"
printf '  %s\n' "${summary[@]}"
echo "goals: 200k nothing-changed <= 0.30x rsync --link-dest; peak RSS <= 64 MiB at 200k and <= 1.5x the 20k figure + 8 MiB; <= 48 B/file"
