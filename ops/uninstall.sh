#!/usr/bin/env bash
# potion-runner: remove what install.sh put in place, as root.
#
#   sudo ops/uninstall.sh           keeps the data: /opt/potion-runner (.env, state, logs), system.env,
#                                   the potion user, the allowlist and every backup
#   sudo ops/uninstall.sh --purge   also removes /opt/potion-runner, /etc/potion-runner
#                                   and the potion user (backups on the data disk stay)
set -euo pipefail

PURGE=0
case "${1:-}" in
  "") ;;
  --purge) PURGE=1 ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "potion-runner: run me as root" >&2; exit 1; }
if dpkg-query -W -f='${Status}' potion-runner 2>/dev/null | grep -q 'ok installed'; then
  echo "potion-runner: installed as a package; remove it with: apt remove potion-runner (or apt purge)" >&2
  exit 1
fi

UNITS=(potion-runner.service potion-runner-health.timer potion-runner-backup.timer
       potion-runner-verify.timer potion-runner-health.service potion-runner-backup.service
       potion-runner-verify.service potion-runner-smart.timer potion-runner-smart.service)

if [ -d /run/systemd/system ]; then
  systemctl disable --now --quiet "${UNITS[@]}" 2>/dev/null || true
fi
for u in "${UNITS[@]}"; do rm -f "/etc/systemd/system/$u"; done
rm -rf /etc/systemd/system/potion-runner-backup.timer.d
rm -f /etc/sudoers.d/potion-runner /etc/logrotate.d/potion-runner /etc/tmpfiles.d/potion-runner.conf
rm -rf /usr/share/doc/potion-runner
rm -f /usr/bin/potion-health /usr/bin/potion-backup /usr/bin/potion-bot
rm -rf /usr/libexec/potion-runner
# Where installs before 0.2 put them.
rm -f /usr/local/bin/potion-health /usr/local/bin/potion-backup /usr/local/bin/potion-bot \
      /usr/local/bin/potion-helper
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl reset-failed "${UNITS[@]}" 2>/dev/null || true
fi

if [ "$PURGE" = 1 ]; then
  rm -rf /opt/potion-runner /etc/potion-runner
  if getent passwd potion >/dev/null; then userdel potion; fi
  if getent group potion >/dev/null; then groupdel potion; fi
  echo "potion-runner: removed, data purged (backups on the data disk are kept)"
else
  echo "potion-runner: removed; kept /opt/potion-runner (.env, state, logs) and the potion user"
fi
