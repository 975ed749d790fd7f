#!/usr/bin/env bash
# potion-runner: system setup shared by install.sh and the Debian package's postinst.
#
#   setup-system.sh prepare ENV_TEMPLATE SYSTEM_TEMPLATE SUDOERS
#                                   user, folders, .env and system.env, sudoers
#   setup-system.sh retire [--units] remove an older install's binaries from
#                                   /usr/local/bin (--units: also its unit copies
#                                   in /etc/systemd/system, which would shadow the package's)
#   setup-system.sh activate        reload systemd, enable timers and the bot
#
# Idempotent: running it again repairs owners and modes and changes nothing else.
# The tmpfiles.d file (potion-runner.conf) must already be installed: it is the
# one place that says which folders exist and with which modes.
set -euo pipefail

USER_NAME=potion
APP_DIR=/opt/potion-runner
ENV_FILE=$APP_DIR/.env
SUDOERS_LIVE=/etc/sudoers.d/potion-runner
HELPER=/usr/libexec/potion-runner/potion-helper
OLD_BIN_DIR=/usr/local/bin
OLD_UNIT_DIR=/etc/systemd/system
BINARIES=(potion-health potion-backup potion-bot potion-helper)
TIMERS=(potion-runner-health.timer potion-runner-backup.timer potion-runner-verify.timer
        potion-runner-smart.timer)
BOT_UNIT=potion-runner.service

say() { echo "potion-runner: $*"; }
die() { echo "potion-runner: $*" >&2; exit 1; }

# .env belongs to the service user, who may swap it for a symlink, a FIFO or
# a hard link to a file of root's at any moment. This script never names it:
# `potion-helper setup` reaches it through one O_NOFOLLOW handle (fstat,
# fchown, fchmod, read; a new one is renamed into place with renameat).
# setup refuses to run under sudo (the bot's user may run the helper so), and
# this script is root's own: drop what an admin's sudo left in the environment.
setup_helper() {
  env -u SUDO_USER -u SUDO_UID -u SUDO_GID -u SUDO_COMMAND "$HELPER" setup "$@"
}

prepare() {
  local template=$1 system_template=$2 sudoers=$3
  [ -f "$template" ] || die "env template $template not found"
  [ -f "$system_template" ] || die "system settings template $system_template not found"
  [ -f "$sudoers" ] || die "sudoers file $sudoers not found"

  # The service user: a system user without a login or home of its own, in
  # systemd-journal so that /log_journal can read the journal.
  getent group "$USER_NAME" >/dev/null || groupadd --system "$USER_NAME"
  if ! getent passwd "$USER_NAME" >/dev/null; then
    useradd --system --gid "$USER_NAME" --home-dir "$APP_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "potion-runner bot" "$USER_NAME"
    say "created system user $USER_NAME"
  fi
  if getent group systemd-journal >/dev/null; then
    usermod -a -G systemd-journal "$USER_NAME"
  fi

  systemd-tmpfiles --create potion-runner.conf

  # .env from the template when there is none, owner and mode always (it
  # holds the token); system keys of an older install move into the
  # root-owned system.env only in the run that creates it; later, system keys in
  # .env are dropped and reported, never copied. Nothing in .env fails this.
  local out line
  out=$(setup_helper env "$template" "$system_template") || die "could not prepare $ENV_FILE (see above)"
  while IFS= read -r line; do
    if [ -n "$line" ]; then say "$line"; fi
  done <<<"$out"

  # sudoers: checked with visudo before it goes live, then moved in atomically.
  # sudo ignores names with a dot in /etc/sudoers.d, so the temporary file is inert.
  local tmp
  tmp=$(mktemp /etc/sudoers.d/.potion-runner.XXXXXX)
  install -m 0440 -o root -g root "$sudoers" "$tmp"
  if ! visudo -c -q -f "$tmp"; then
    rm -f "$tmp"
    die "sudoers file $sudoers does not pass visudo -c; not installed"
  fi
  mv -f "$tmp" "$SUDOERS_LIVE"
  visudo -c -q || die "sudo configuration broken after installing $SUDOERS_LIVE"
}

# Installs before 0.2 put all four binaries in /usr/local/bin (the sudo rule
# named the helper there; prepare has already replaced that rule). A file a
# package owns is left alone: dpkg removes its own files on upgrade.
retire() {
  local b f u
  for b in "${BINARIES[@]}"; do
    f=$OLD_BIN_DIR/$b
    [ -e "$f" ] || [ -L "$f" ] || continue
    if command -v dpkg >/dev/null 2>&1 && dpkg -S "$f" >/dev/null 2>&1; then
      say "$f belongs to a package; left in place"
      continue
    fi
    rm -f "$f"
    say "removed the old $f"
  done
  [ "${1:-}" = --units ] || return 0
  # install.sh copies the units to /etc/systemd/system; there they override the
  # package's in /usr/lib/systemd/system (and an old copy names /usr/local/bin).
  # Only our own copies go (they start with our header); drop-in folders stay.
  for u in "$OLD_UNIT_DIR"/potion-runner*.service "$OLD_UNIT_DIR"/potion-runner*.timer; do
    [ -f "$u" ] && [ ! -L "$u" ] || continue
    if head -n 1 "$u" | grep -q '^# potion-runner: '; then
      rm -f "$u"
      say "removed $u (a copy from ops/install.sh; the package's unit is used now)"
    fi
  done
}

activate() {
  if [ ! -d /run/systemd/system ]; then
    say "systemd is not running here: units installed but not enabled"
    return 0
  fi
  systemctl daemon-reload
  systemctl enable --quiet "${TIMERS[@]}" "$BOT_UNIT"
  systemctl restart "${TIMERS[@]}"

  # Keep the timer on BACKUP_TIME from .env (the helper validates and writes
  # the drop-in); whether a token is set decides whether the bot starts.
  local status t="" token=unset key value
  status=$(setup_helper status) || die "could not read $ENV_FILE"
  while IFS=': ' read -r key value; do
    case "$key" in
      backup-time) t=$value ;;
      token) token=$value ;;
      note) say "$value" ;;
    esac
  done <<<"$status"
  if [ -n "$t" ]; then
    "$HELPER" timer set backup "$t" >/dev/null || say "could not move the backup timer to $t"
  fi

  if [ "$token" = set ]; then
    systemctl restart "$BOT_UNIT"
    say "bot (re)started"
  else
    say "BOT_TOKEN is empty in $ENV_FILE: fill it in, then: systemctl start $BOT_UNIT"
  fi
}

case "${1:-}" in
  prepare) [ $# -eq 4 ] || die "usage: $0 prepare ENV_TEMPLATE SYSTEM_TEMPLATE SUDOERS"; prepare "$2" "$3" "$4" ;;
  retire) [ $# -le 2 ] || die "usage: $0 retire [--units]"; retire "${2:-}" ;;
  activate) activate ;;
  *) echo "usage: $0 prepare ENV_TEMPLATE SYSTEM_TEMPLATE SUDOERS | retire [--units] | activate" >&2; exit 2 ;;
esac
