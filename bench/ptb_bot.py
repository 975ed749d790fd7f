#!/usr/bin/env python3
"""Baseline for bench/bot.sh: a minimal python-telegram-bot v21 bot with the
same /status as potion-bot (reads last_health.json, replies in HTML)."""

import html
import json
import os

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

STATE_DIR = os.environ["STATE_DIR"]
ADMINS = {int(x) for x in os.environ["ADMIN_IDS"].split(",")}


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_user is None or update.effective_user.id not in ADMINS:
        return
    with open(os.path.join(STATE_DIR, "last_health.json")) as f:
        r = json.load(f)
    lines = [
        f"🖥 <b>{html.escape(r['host'])}</b> · {r['taken_at']}",
        f"CPU: {r['cpu']['percent']}% · load {' '.join('%.2f' % x for x in r['cpu']['load'])}",
        f"RAM: {r['memory']['percent']}%",
    ]
    for d in r["disks"]:
        lines.append(f"Disk {html.escape(d['mount'])}: {d['percent']}%")
    lines.append(f"Temperature: {r['temperature_c']} °C")
    lines.append("Alerts: " + (", ".join(a["code"] for a in r["alerts"]) or "none"))
    await update.message.reply_text("\n".join(lines), parse_mode="HTML")


def main() -> None:
    app = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"] + "/bot")
        .build()
    )
    app.add_handler(CommandHandler("status", status))
    app.run_polling(poll_interval=0, timeout=25)


if __name__ == "__main__":
    main()
