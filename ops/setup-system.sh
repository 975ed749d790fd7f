#!/usr/bin/env bash
# potion-runner: system setup shared by install.sh and the Debian package's postinst.
#
#   setup-system.sh prepare ENV_TEMPLATE SUDOERS   user, folders, .env, sudoers
#   setup-system.sh activate                       reload systemd, enable timers and the bot
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
TIMERS=(potion-runner-health.timer potion-runner-backup.timer potion-runner-verify.timer)
BOT_UNIT=potion-runner.service

say() { echo "potion-runner: $*"; }
die() { echo "potion-runner: $*" >&2; exit 1; }

# .env belongs to the service user, who may replace it with a symlink (or a
# FIFO, or a hard link) to a file of root's: never follow it as root.
env_file_plain() {
  if [ -L "$ENV_FILE" ]; then
    die "$ENV_FILE is a symlink; refusing to touch it as root. Replace it with a plain file (or remove it to get the template) and run this again"
  fi
  if [ -e "$ENV_FILE" ] && [ ! -f "$ENV_FILE" ]; then
    die "$ENV_FILE is not a regular file; refusing to touch it as root. Replace it with a plain file (or remove it to get the template) and run this again"
  fi
  if [ -e "$ENV_FILE" ] && [ "$(stat -c %h -- "$ENV_FILE")" != 1 ]; then
    die "$ENV_FILE has more than one hard link; refusing to touch it as root. Replace it with a plain copy and run this again"
  fi
}

prepare() {
  local template=$1 sudoers=$2
  [ -f "$template" ] || die "env template $template not found"
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

  # .env: the template only when there is none; owner and mode always (it holds the token).
  env_file_plain
  if [ ! -e "$ENV_FILE" ]; then
    # Built beside it and renamed into place: a rename replaces whatever
    # appeared at .env meanwhile and never writes through it.
    local new
    new=$(mktemp "$APP_DIR/.env.new.XXXXXX")
    install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$template" "$new"
    mv -fT -- "$new" "$ENV_FILE"
    say "wrote $ENV_FILE from the template: fill in BOT_TOKEN and ADMIN_IDS"
  fi
  # chown -h never follows a symlink. chmod has no such flag, so it runs with
  # the service user's rights: if .env was swapped for a symlink after the
  # check, the chmod can only reach what that user could change anyway.
  chown -h "$USER_NAME:$USER_NAME" "$ENV_FILE"
  setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --clear-groups -- chmod 0600 -- "$ENV_FILE"
  env_file_plain

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

bot_token_set() {
  [ -f "$ENV_FILE" ] && [ ! -L "$ENV_FILE" ] || return 1
  grep -Eq '^[[:space:]]*(export[[:space:]]+)?BOT_TOKEN=[^[:space:]#]' "$ENV_FILE"
}

activate() {
  if [ ! -d /run/systemd/system ]; then
    say "systemd is not running here: units installed but not enabled"
    return 0
  fi
  systemctl daemon-reload
  systemctl enable --quiet "${TIMERS[@]}" "$BOT_UNIT"
  systemctl restart "${TIMERS[@]}"

  # Keep the timer on BACKUP_TIME from .env (the helper validates and writes the drop-in).
  env_file_plain
  local t
  t=$(sed -n -E 's/^[[:space:]]*BACKUP_TIME=[[:space:]]*"?([0-9]{1,2}[:.,][0-9]{2})"?[[:space:]]*$/\1/p' "$ENV_FILE" | tail -n 1)
  if [ -n "$t" ]; then
    "$HELPER" timer set backup "$t" >/dev/null || say "could not move the backup timer to $t"
  fi

  if bot_token_set; then
    systemctl restart "$BOT_UNIT"
    say "bot (re)started"
  else
    say "BOT_TOKEN is empty in $ENV_FILE: fill it in, then: systemctl start $BOT_UNIT"
  fi
}

case "${1:-}" in
  prepare) [ $# -eq 3 ] || die "usage: $0 prepare ENV_TEMPLATE SUDOERS"; prepare "$2" "$3" ;;
  activate) activate ;;
  *) echo "usage: $0 prepare ENV_TEMPLATE SUDOERS | activate" >&2; exit 2 ;;
esac
