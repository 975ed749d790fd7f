#!/usr/bin/env bash
# potion-runner: install from a source checkout, as root. Idempotent: run it
# again after a rebuild to upgrade (the .env and all data are kept).
#
#   sudo ops/install.sh [BIN_DIR]        BIN_DIR (or $POTION_BIN_DIR) holds the
#                                        built binaries; default target/release
set -euo pipefail

OPS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$OPS")
BIN_DIR=${1:-${POTION_BIN_DIR:-$REPO/target/release}}
BINARIES=(potion-health potion-backup potion-bot potion-helper)

die() { echo "potion-runner: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root (sudo $0)"
for b in "${BINARIES[@]}"; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b not found; build first: cargo build --release"
done

# Binaries: install(1) replaces the file, so a running bot keeps its old copy until restarted.
# The helper is run only by the bot (through sudo), so it lives outside PATH.
for b in potion-health potion-backup potion-bot; do
  install -m 0755 -o root -g root "$BIN_DIR/$b" "/usr/bin/$b"
done
install -D -m 0755 -o root -g root "$BIN_DIR/potion-helper" /usr/libexec/potion-runner/potion-helper

install -d -m 0755 /etc/systemd/system /etc/tmpfiles.d /etc/logrotate.d
for u in "$OPS"/systemd/*.service "$OPS"/systemd/*.timer; do
  install -m 0644 -o root -g root "$u" /etc/systemd/system/
done
install -m 0644 -o root -g root "$OPS/tmpfiles.d/potion-runner.conf" /etc/tmpfiles.d/potion-runner.conf
install -m 0644 -o root -g root "$OPS/logrotate/potion-runner" /etc/logrotate.d/potion-runner
install -D -m 0644 -o root -g root "$REPO/docs/install.md" /usr/share/doc/potion-runner/install.md

# An older install's path keys move from .env into /etc/potion-runner/system.env.
"$OPS/setup-system.sh" prepare "$OPS/env.template" "$OPS/system.env.template" "$OPS/sudoers/potion-runner"
# An install before 0.2 had its binaries in /usr/local/bin: the new sudo rule
# (above) names the new helper; the old files go now.
"$OPS/setup-system.sh" retire
"$OPS/setup-system.sh" activate
echo "potion-runner: installed"
