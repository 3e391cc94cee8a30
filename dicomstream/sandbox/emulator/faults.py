"""Fault injection: make chosen calls fail (429/500/503/403...) or hang, for a number of calls.

`for_s` bounds a fault in time instead: e.g. a grant that takes 60 s to become effective is a 403
on the calls that need it, for 60 s from the moment the grant is made.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass

from dicomstream.sandbox.emulator.errors import STATUS_BY_CODE, ApiError, invalid


@dataclass
class Fault:
    """Calls whose method and path match get `status` (a Google error body) or wait `delay_s` first."""

    method: str = "*"
    pathRegex: str = ".*"  # noqa: N815 - the admin API's JSON name
    status: int | None = None
    delay_s: float = 0.0
    count: int = 1  # calls affected; -1 for every call until cleared
    message: str | None = None
    for_s: float = 0.0  # > 0: active only this many seconds after it was added (then dropped)
    hits: int = 0
    added_at: float = 0.0

    def expired(self, now: float) -> bool:
        return self.for_s > 0 and now - self.added_at >= self.for_s

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and re.search(self.pathRegex, path) is not None


class Faults:
    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, spec: dict) -> Fault:
        if not isinstance(spec, dict):
            raise invalid("a fault is a JSON object")
        known = {"method", "pathRegex", "status", "delay_s", "count", "message", "for_s"}
        unknown = set(spec) - known
        if unknown:
            raise invalid(f"unknown fault field {sorted(unknown)[0]!r}; fields: {', '.join(sorted(known))}")
        fault = Fault(
            method=str(spec.get("method", "*")).upper(),
            pathRegex=str(spec.get("pathRegex", ".*")),
            status=int(spec["status"]) if spec.get("status") is not None else None,
            delay_s=float(spec.get("delay_s", 0)),
            count=int(spec.get("count", 1)),
            message=spec.get("message"),
            for_s=float(spec.get("for_s", 0)),
            added_at=time.monotonic(),
        )
        if fault.status is None and not fault.delay_s:
            raise invalid("a fault needs a status (e.g. 503) or a delay_s")
        try:
            re.compile(fault.pathRegex)
        except re.error as exc:
            raise invalid(f"invalid pathRegex: {exc}") from None
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._rules]

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault, counted as used (and dropped when exhausted)."""
        with self._lock:
            now = time.monotonic()
            self._rules = [f for f in self._rules if not f.expired(now)]
            for fault in self._rules:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self._rules.remove(fault)
                    return fault
        return None

    @staticmethod
    def error_for(fault: Fault) -> ApiError | None:
        if fault.status is None:
            return None
        status = STATUS_BY_CODE.get(fault.status, "UNKNOWN")
        default = {
            429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' (injected by the sandbox)",
            403: "Permission denied (injected by the sandbox)",
            500: "Internal error encountered (injected by the sandbox)",
            503: "The service is currently unavailable (injected by the sandbox)",
        }.get(fault.status, f"{status} (injected by the sandbox)")
        return ApiError(fault.status, fault.message or default, status)
