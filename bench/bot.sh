#!/bin/sh
# Benchmarks potion-bot against a minimal python-telegram-bot v21 bot with the
# same /status, on a loopback stand-in Bot API, in the same run.
# Usage: bench/bot.sh [--idle SECONDS] [--n N]   (results also in $WORK/results.json)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin potion-bot
VENV=target/bench-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import telegram' 2>/dev/null; then
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'python-telegram-bot==21.*'
fi
WORK=$(mktemp -d /tmp/potion-bot-bench.XXXXXX)
/usr/bin/python3 bench/bot_bench.py --work "$WORK" --potion target/release/potion-bot \
    --ptb-python "$VENV/bin/python" "$@"
echo "details: $WORK/results.json"
