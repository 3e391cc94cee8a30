"""The sandbox's own admin API under `/_sandbox` (not Google's; never subject to faults): health,
faults, the clock behind `LastUpdated` and operation times, streaming error logs, reset, flush,
and bulk seeding (`clone`) for benchmarks."""

from __future__ import annotations

import json
from datetime import datetime

from dicomstream.sandbox.emulator.errors import not_found
from dicomstream.sandbox.emulator.faults import Faults
from dicomstream.sandbox.emulator.http import Request, Response, json_body, json_response

PREFIX = "/_sandbox"


def handle(backends, faults: Faults, r: Request) -> Response:  # noqa: ANN001 - server.Backends
    core = backends.core
    path = r.path[len(PREFIX):]
    if path == "/health" and r.method == "GET":
        return json_response({"status": "ok"})
    if path == "/faults":
        if r.method == "GET":
            return json_response({"faults": faults.list()})
        if r.method == "POST":
            data = json.loads(r.body or b"{}")
            specs = data if isinstance(data, list) else data.get("faults", [data]) if isinstance(data, dict) else []
            added = [faults.add(spec) for spec in specs]
            return json_response({"added": len(added), "faults": faults.list()})
        if r.method == "DELETE":
            faults.clear()
            return json_response({"faults": []})
    if path == "/clock" and r.method in ("GET", "POST"):
        if r.method == "POST":
            data = json_body(r.body)
            if "now" in data:
                core.clock.set(datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00")))
            if "advance_s" in data:
                core.clock.advance(float(data["advance_s"]))
            if data.get("reset"):
                core.clock.reset()
        return json_response({"now": core.clock.now().isoformat(), "offset_s": core.clock.offset_seconds})
    if path == "/logs" and r.method == "GET":
        return json_response({"entries": list(core.stream_log.recent), "path": str(core.stream_log.path or "")})
    if path == "/reset" and r.method == "POST":
        faults.clear()
        core.reset()
        return json_response({"reset": True})
    if path == "/clone" and r.method == "POST":
        data = json_body(r.body)
        sops = backends.dicomweb.clone(str(data.get("store", "")), str(data.get("sop", "")),
                                       int(data.get("count", 0)), str(data.get("prefix", "1")))
        return json_response({"cloned": len(sops), "sops": sops})
    if path == "/flush" and r.method == "POST":
        core.persistence.flush()
        return json_response({"flushed": True})
    raise not_found(f"unknown admin endpoint {r.method} {r.path}")
