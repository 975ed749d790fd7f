#!/usr/bin/python3
"""Baseline for bench/health.sh: the health run the Python original would do,
with psutil, doing the same work as potion-health.

CPU percent from counters saved by the previous run (no sleeping), load,
cores, memory and swap, disk usage of / and the data mount (mount check),
uptime, temperatures, battery, boot id, one `systemctl show` for all
SERVICES, one GET per PROBE_URLS entry (from the environment, name=url,...;
2 s timeout, in parallel), the backup age from last_backup.json, and the
same outputs: state file and report written atomically (temp file, fsync,
rename, folder fsync), a history record appended, and a Prometheus textfile.

Usage: health_psutil.py STATE_DIR DATA_MOUNT [UNIT ...]
"""

import concurrent.futures
import datetime
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

import psutil


def probe(name, url):
    u = urllib.parse.urlsplit(url)
    start = time.monotonic()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=2)
        c.request("GET", u.path or "/")
        status = c.getresponse().status
        c.close()
        return {"name": name, "url": url, "ok": 200 <= status < 300, "status": status,
                "latency_ms": round((time.monotonic() - start) * 1000, 1), "error": None}
    except OSError as e:
        return {"name": name, "url": url, "ok": False, "status": None, "latency_ms": None,
                "error": str(e)}


def write_atomic(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def disk(name, mount, present):
    if not present:
        return {"name": name, "mount": mount, "total_bytes": 0, "used_bytes": 0,
                "percent": 0.0, "present": False}
    u = psutil.disk_usage(mount)
    return {"name": name, "mount": mount, "total_bytes": u.total, "used_bytes": u.used,
            "percent": u.percent, "present": True}


def main():
    state_dir, data_mount, units = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(state_dir, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    errors, notes = [], []
    state_path = os.path.join(state_dir, "health-state.json")
    try:
        with open(state_path) as f:
            prev = json.load(f)
    except (OSError, ValueError):
        prev = {}

    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0)
    total = sum(t) - getattr(t, "guest", 0) - getattr(t, "guest_nice", 0)
    counters = {"busy": total - idle, "total": total, "boot_time": psutil.boot_time()}
    percent = None
    p = prev.get("cpu")
    if p and p["boot_time"] == counters["boot_time"] and total > p["total"]:
        percent = round((counters["busy"] - p["busy"]) * 100.0 / (total - p["total"]), 1)
    else:
        notes.append("first run")

    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    temps = [s.current for group in psutil.sensors_temperatures().values() for s in group
             if 0 < s.current <= 150]

    targets = [t.split("=", 1) for t in os.environ.get("PROBE_URLS", "").split(",") if t]
    pool = concurrent.futures.ThreadPoolExecutor(max(1, len(targets)))
    pending = [pool.submit(probe, n, u) for n, u in targets]
    bat = psutil.sensors_battery()
    power = None if bat is None else {"ac_online": bat.power_plugged,
                                      "batteries": [{"percent": bat.percent}]}
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot_id = f.read().strip()

    services = []
    if units:
        try:
            out = subprocess.run(
                ["systemctl", "show", "--property=Id,ActiveState,SubState", "--"] + units,
                capture_output=True, text=True, timeout=10)
            if out.returncode != 0:
                raise RuntimeError(out.stderr.strip())
            blocks = [b for b in out.stdout.split("\n\n") if b.strip()]
            for unit, block in zip(units, blocks):
                kv = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
                services.append({"unit": unit, "active": kv.get("ActiveState", "unknown"),
                                 "sub": kv.get("SubState", "unknown")})
        except Exception as e:  # noqa: BLE001 - a failed probe is a line in errors
            errors.append("services: %s" % e)
            services = [{"unit": u, "active": "unknown", "sub": "unknown"} for u in units]

    backup = {"last_id": None, "last_ok_at": None, "age_h": None, "last_status": "none"}
    try:
        with open(os.path.join(state_dir, "last_backup.json")) as f:
            b = json.load(f)
        backup["last_status"] = b["status"]
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError) as e:
        errors.append("backup: %s" % e)

    report = {
        "schema": 1, "host": socket.gethostname(),
        "taken_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu": {"percent": percent, "load": list(os.getloadavg()),
                "cores": psutil.cpu_count()},
        "memory": {"total_bytes": vm.total, "available_bytes": vm.available,
                   "percent": vm.percent, "swap_percent": sw.percent},
        "disks": [disk("root", "/", True),
                  disk("data", data_mount, os.path.ismount(data_mount))],
        "uptime_s": int(time.time() - psutil.boot_time()),
        "temperature_c": max(temps) if temps else None,
        "services": services, "backup": backup, "boot_id": boot_id, "power": power,
        "smart": [], "probes": [p.result() for p in pending], "alerts": [], "errors": errors,
        "notes": notes,
    }
    alerts = []
    if not report["disks"][1]["present"]:
        alerts.append({"code": "DATA_DISK_MISSING", "since": report["taken_at"],
                       "value": None, "threshold": None})
    report["alerts"] = alerts

    write_atomic(state_path, json.dumps(
        {"schema": 1, "taken_at": report["taken_at"], "cpu": counters, "trackers": {}},
        indent=2).encode())
    nan = float("nan")
    slowest = max((p["latency_ms"] for p in report["probes"] if p["status"] is not None),
                  default=nan)
    with open(os.path.join(state_dir, "history.bin"), "ab") as f:
        f.write(struct.pack("<q7fIf", int(now.timestamp()),
                            nan if percent is None else percent, vm.percent, sw.percent,
                            report["disks"][0]["percent"], nan,
                            nan if not temps else max(temps), report["cpu"]["load"][0], 0,
                            slowest))
    prom = "".join("# HELP potion_%s x\n# TYPE potion_%s gauge\npotion_%s %s\n" % (k, k, k, v)
                   for k, v in [("memory_percent", vm.percent), ("swap_percent", sw.percent),
                                ("uptime_seconds", report["uptime_s"])])
    write_atomic(os.path.join(state_dir, "potion.prom"), prom.encode())
    write_atomic(os.path.join(state_dir, "last_health.json"),
                 json.dumps(report, indent=2).encode())


if __name__ == "__main__":
    main()
