"""The background process behind `dicomstream sandbox up`: runs a Sandbox until SIGTERM/SIGINT.

It writes `<dir>/sandbox.json` (pid and endpoints) once both servers answer, and removes it when
stopped, so `sandbox status` / `sandbox down` and other commands can find it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from dicomstream import quiet_python_support_notice

INFO_FILE = "sandbox.json"


def info_path(root: Path) -> Path:
    return root / INFO_FILE


def read_info(root: Path) -> dict | None:
    """The running sandbox's info, or None (a stale file of a dead process is removed)."""
    path = info_path(root)
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, ProcessLookupError, PermissionError):
        path.unlink(missing_ok=True)
        return None
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dicomstream.sandbox.daemon")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port-healthcare", type=int, default=0)
    parser.add_argument("--port-bigquery", type=int, default=0)
    parser.add_argument("--ephemeral", action="store_true")
    args = parser.parse_args(argv)
    # Imported here, not at the top: `sandbox status`/`down`/`logs` read `read_info` and stay light.
    quiet_python_support_notice()
    from dicomstream.sandbox.runtime import Sandbox

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    root = args.dir.resolve()
    sandbox = Sandbox(root=root, ephemeral=args.ephemeral, healthcare_port=args.port_healthcare, bigquery_port=args.port_bigquery)
    try:
        sandbox.start()
        endpoints = sandbox.endpoints
        info = {
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ephemeral": args.ephemeral,
            "dir": str(root),
            "healthcare": endpoints.healthcare,
            "bigquery": endpoints.bigquery,
            "resourcemanager": endpoints.resourcemanager,
            "streamLog": str(sandbox.stream_log_path),
        }
        tmp = info_path(root).with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, info_path(root))
        print(f"sandbox ready: {json.dumps(info)}", flush=True)
        while not stop.wait(0.1):
            pass
    except Exception as exc:  # noqa: BLE001 - reported in the log that `sandbox up` shows
        print(f"sandbox failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        info_path(root).unlink(missing_ok=True)
        sandbox.stop()
        print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    # Everything is stopped and saved once main returns: end without tearing down the heap of the
    # clients and servers (about 1.5 s of interpreter finalisation that `sandbox down` waited for).
    code = main()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
