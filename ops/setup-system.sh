#!/usr/bin/env bash
# potion-runner: system setup shared by install.sh and the Debian package's postinst.
#
#   setup-system.sh prepare ENV_TEMPLATE SYSTEM_TEMPLATE SUDOERS
#                                   user, folders, .env and system.env, sudoers
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
HELPER=/usr/local/bin/potion-helper
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
  activate) activate ;;
  *) echo "usage: $0 prepare ENV_TEMPLATE SYSTEM_TEMPLATE SUDOERS | activate" >&2; exit 2 ;;
esac
