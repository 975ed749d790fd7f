#!/usr/bin/env python3
"""Benchmark driver for bench/bot.sh: a stand-in Bot API on 127.0.0.1 that
runs potion-bot and the python-telegram-bot baseline one after the other and
measures idle RSS, idle CPU ticks, /status round trip and alert latency
(rename of last_health.json -> sendMessage arriving here)."""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "123456:BENCH-token"
ADMIN = 4242


class Api:
    def __init__(self):
        self.cv = threading.Condition()
        self.updates = []
        self.next_update = 1
        self.next_msg = 1000
        self.sent = []  # (time, chat_id, text)
        self.polls = 0

    def push_text(self, text):
        with self.cv:
            mid = self.next_msg
            self.next_msg += 1
            u = {
                "update_id": self.next_update,
                "message": {
                    "message_id": mid, "date": int(time.time()),
                    "chat": {"id": ADMIN, "type": "private", "first_name": "A"},
                    "from": {"id": ADMIN, "is_bot": False, "first_name": "A", "username": "admin"},
                    "text": text,
                    "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
                },
            }
            self.next_update += 1
            self.updates.append(u)
            self.cv.notify_all()

    def wait_sent(self, after, pred, timeout=10.0):
        deadline = time.perf_counter() + timeout
        with self.cv:
            while True:
                for t, chat, text in self.sent[after:]:
                    if pred(text):
                        return t
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.cv.wait(left)


API = Api()
BOT_USER = {"id": 1, "is_bot": True, "first_name": "potion", "username": "potion_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Without this, Nagle plus delayed ACKs add ~40 ms to every answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            body = json.loads(raw or b"{}")
        elif "urlencoded" in ctype:
            body = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        else:
            body = {}
        method = self.path.rsplit("/", 1)[-1].lower()
        result = True
        if method == "getme":
            result = BOT_USER
        elif method == "getwebhookinfo":
            result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        elif method == "getupdates":
            offset = int(body.get("offset") or 0)
            timeout = float(body.get("timeout") or 0)
            deadline = time.perf_counter() + timeout
            with API.cv:
                API.polls += 1
                API.updates = [u for u in API.updates if u["update_id"] >= offset]
                while not API.updates and time.perf_counter() < deadline:
                    API.cv.wait(deadline - time.perf_counter())
                result = list(API.updates)
        elif method in ("sendmessage", "editmessagetext"):
            chat = int(body.get("chat_id") or 0)
            text = body.get("text", "")
            with API.cv:
                API.sent.append((time.perf_counter(), chat, text))
                API.next_msg += 1
                mid = API.next_msg
                API.cv.notify_all()
            result = {"message_id": mid, "date": int(time.time()),
                      "chat": {"id": chat, "type": "private", "first_name": "A"},
                      "from": BOT_USER, "text": text}
        out = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        try:
            self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bot went away (shutdown)


def health(state_dir, alerts):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = {"schema": 1, "host": "x450l", "taken_at": now,
         "cpu": {"percent": 12.5, "load": [0.1, 0.2, 0.3], "cores": 4},
         "memory": {"total_bytes": 8 << 30, "available_bytes": 6 << 30, "percent": 25.0, "swap_percent": 0.0},
         "disks": [{"name": "root", "mount": "/", "total_bytes": 100, "used_bytes": 40, "percent": 40.0, "present": True}],
         "uptime_s": 93784, "temperature_c": 55.0,
         "services": [], "backup": {"last_id": None, "last_ok_at": None, "age_h": None, "last_status": "none"},
         "alerts": [{"code": c, "since": now, "value": 97.0, "threshold": 90.0} for c in alerts],
         "errors": []}
    tmp = os.path.join(state_dir, ".last_health.json.tmp")
    with open(tmp, "w") as f:
        json.dump(r, f)
    os.rename(tmp, os.path.join(state_dir, "last_health.json"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(name, argv, env, state_dir, args, alerts):
    with API.cv:
        API.updates.clear()
        API.polls = 0
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.perf_counter()
        while API.polls == 0 and time.perf_counter() - t0 < 20:
            time.sleep(0.01)
        time.sleep(args.settle)
        res = {"name": name, "rss_kib": rss_kib(proc.pid)}
        c0 = cpu_ticks(proc.pid)
        time.sleep(args.idle)
        res["idle_ticks"] = cpu_ticks(proc.pid) - c0
        res["idle_s"] = args.idle
        rtts = []
        for _ in range(args.n):
            after = len(API.sent)
            start = time.perf_counter()
            API.push_text("/status")
            t = API.wait_sent(after, lambda s: "x450l" in s)
            if t is None:
                raise SystemExit(f"{name}: no /status reply")
            rtts.append((t - start) * 1000)
            time.sleep(0.02)
        res["status_ms"] = rtts
        if alerts:
            lat = []
            for i in range(args.n_alerts):
                after = len(API.sent)
                firing = i % 2 == 0
                start = time.perf_counter()
                health(state_dir, ["CPU_HIGH"] if firing else [])
                t = API.wait_sent(after, lambda s: "CPU_HIGH" in s)
                if t is None:
                    raise SystemExit(f"{name}: no alert message")
                lat.append((t - start) * 1000)
                time.sleep(0.05)
            res["alert_ms"] = lat
        res["rss_after_kib"] = rss_kib(proc.pid)
        return res
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--potion", required=True)
    ap.add_argument("--ptb-python", required=True)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--n-alerts", type=int, default=20)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--idle", type=float, default=30.0)
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"

    app = os.path.join(args.work, "app")
    state = os.path.join(app, "state")
    os.makedirs(state, exist_ok=True)
    os.makedirs(os.path.join(app, "logs"), exist_ok=True)
    health(state, [])
    envfile = os.path.join(app, ".env")
    with open(envfile, "w") as f:
        f.write(f"BOT_TOKEN={TOKEN}\nADMIN_IDS={ADMIN}\nTELEGRAM_API_URL={url}\nBOT_LANG=en\n")
    # APP_DIR is a system setting: a user's own process takes it from $POTION_SYSTEM_ENV.
    sysenv = os.path.join(app, "system.env")
    with open(sysenv, "w") as f:
        f.write(f"APP_DIR={app}\n")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": args.work}

    here = os.path.dirname(os.path.abspath(__file__))
    results = [
        measure("potion-bot", [args.potion, "--env", envfile],
                dict(base, POTION_FORCE_RUN="1", POTION_LOG="warn", POTION_SYSTEM_ENV=sysenv),
                state, args, True),
        measure("python-telegram-bot 21", [args.ptb_python, os.path.join(here, "ptb_bot.py")],
                dict(base, BOT_TOKEN=TOKEN, ADMIN_IDS=str(ADMIN), TELEGRAM_API_URL=url, STATE_DIR=state),
                state, args, False),
    ]
    rust, py = results
    print(f"{'':24}{'potion-bot':>14}{'ptb v21':>14}{'ratio':>9}")
    def row(label, a, b, fmt="{:.1f}"):
        ratio = f"{a / b:.2f}x" if b else "-"
        print(f"{label:24}{fmt.format(a):>14}{fmt.format(b):>14}{ratio:>9}")
    row("idle RSS (MiB)", rust["rss_kib"] / 1024, py["rss_kib"] / 1024)
    row("RSS after load (MiB)", rust["rss_after_kib"] / 1024, py["rss_after_kib"] / 1024)
    row(f"idle CPU ticks ({int(args.idle)} s)", rust["idle_ticks"], py["idle_ticks"], "{:.0f}")
    row("/status median (ms)", statistics.median(rust["status_ms"]), statistics.median(py["status_ms"]), "{:.2f}")
    row("/status p90 (ms)", pct(rust["status_ms"], 90), pct(py["status_ms"], 90), "{:.2f}")
    al = rust["alert_ms"]
    print(f"{'alert latency (ms)':24}{'median %.1f' % statistics.median(al):>14}{'p90 %.1f' % pct(al, 90):>14}")
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
