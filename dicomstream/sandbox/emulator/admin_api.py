"""The sandbox's own admin API under `/_sandbox` (not Google's; never subject to faults): health,
faults, the clock behind `LastUpdated` and operation times, streaming error logs, reset, flush,
and bulk seeding (`clone`) for benchmarks.

It changes what every other caller sees, so only the sandbox's own clients may call it: the
`Host` must be the server's own loopback address and port (a page that rebinds its DNS name to
127.0.0.1 still sends its own name), an `Origin`, if any, the same, and every call that changes
something must carry a JSON body (`application/json`), which a cross-site form or a `text/plain`
"simple request" cannot send without the browser asking first (CORS preflight, never answered).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from dicomstream.sandbox.emulator.errors import ApiError, invalid, not_found, permission_denied
from dicomstream.sandbox.emulator.faults import Faults
from dicomstream.sandbox.emulator.http import Request, Response, json_body, json_response, json_value

PREFIX = "/_sandbox"
_READS = ("GET", "HEAD")


def check_caller(r: Request, host: str, port: int) -> None:
    """403 unless the request names this server (`Host`, `Origin`); 415 for a change without JSON."""
    own = {f"{host}:{port}", f"localhost:{port}"}
    if r.headers.get("host", "").lower() not in own:
        raise permission_denied(f"the sandbox admin API answers only requests to {host}:{port} "
                                f"(Host header {r.headers.get('host', '')!r})")
    origin = r.headers.get("origin")
    if origin is not None and origin.lower() not in {f"http://{name}" for name in own}:
        raise permission_denied(f"the sandbox admin API refuses cross-origin requests (Origin {origin!r})")
    media = r.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if r.method not in _READS and media != "application/json":
        raise ApiError(415, f"the sandbox admin API takes a JSON body (Content-Type: application/json) "
                            f"on {r.method}; got {media or 'none'!r}", "INVALID_ARGUMENT")


def handle(backends, faults: Faults, r: Request, host: str, port: int) -> Response:  # noqa: ANN001 - server.Backends
    check_caller(r, host, port)
    core = backends.core
    path = r.path[len(PREFIX):]
    if path == "/health" and r.method == "GET":
        return json_response({"status": "ok"})
    if path == "/faults":
        if r.method == "GET":
            return json_response({"faults": faults.list(), "held": faults.held})
        if r.method == "POST":
            data = json_value(r.body or b"{}")
            specs = data if isinstance(data, list) else data.get("faults", [data]) if isinstance(data, dict) else []
            added = [faults.add(spec) for spec in specs]
            return json_response({"added": len(added), "faults": faults.list()})
        if r.method == "DELETE":
            faults.clear()
            return json_response({"faults": []})
    if path == "/faults/release" and r.method == "POST":
        faults.release()
        return json_response({"faults": faults.list()})
    if path == "/clock" and r.method in ("GET", "POST"):
        if r.method == "POST":
            _move_clock(core.clock, json_body(r.body))
        return json_response({"now": core.clock.now().isoformat(), "offset_s": core.clock.offset_seconds})
    if path == "/logs" and r.method == "GET":
        return json_response({"entries": list(core.stream_log.recent), "path": str(core.stream_log.path or "")})
    if path == "/reset" and r.method == "POST":
        faults.clear()
        core.reset()
        backends.storage.reset()
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


MAX_CLOCK_OFFSET = timedelta(days=36_525)  # a hundred years either way: datetimes stay in range


def _move_clock(clock, data: dict) -> None:  # noqa: ANN001 - sandbox.clock.Clock
    """`now` (ISO 8601), `advance_s` (seconds), `reset`: refused with 400 unless the clock stays
    within a hundred years of today (a date past 9999 would break every later request)."""
    offset = timedelta(seconds=clock.offset_seconds)
    if "now" in data:
        try:
            when = datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00"))
        except ValueError:
            raise invalid(f"Invalid value at 'now' ({str(data['now'])[:40]!r}): an ISO 8601 time") from None
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        offset = when - datetime.now(timezone.utc)
    if "advance_s" in data:
        seconds = data["advance_s"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
                or abs(seconds) > MAX_CLOCK_OFFSET.total_seconds():
            raise invalid(f"Invalid value at 'advance_s' ({str(seconds)[:40]}): a number of seconds within "
                          f"{MAX_CLOCK_OFFSET.days} days")
        offset += timedelta(seconds=seconds)
    if abs(offset) > MAX_CLOCK_OFFSET:
        raise invalid(f"the sandbox clock stays within {MAX_CLOCK_OFFSET.days} days of today")
    if "now" in data or "advance_s" in data:
        clock.set(datetime.now(timezone.utc) + offset)
    if data.get("reset"):
        clock.reset()
