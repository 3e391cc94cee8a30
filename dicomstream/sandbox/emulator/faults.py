"""Fault injection: make chosen calls fail (429/500/503/403...), wait, hang until released, or lose
their response, for a number of calls.

`for_s` bounds a fault in time instead: e.g. a grant that takes 60 s to become effective is a 403
on the calls that need it, for 60 s from the moment the grant is made.

`hold` and `drop` are how tests order events without racing a clock: a held call waits until the
test releases it (`POST /_sandbox/faults/release`, or clearing the faults), whatever the machine's
load; a dropped call is carried out and its connection closed unanswered, which is what a client
sees when its request timed out after the server acted.
"""

from __future__ import annotations

import math
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator, overload

from dicomstream.sandbox.emulator.errors import STATUS_BY_CODE, ApiError, invalid

MAX_DELAY_S = 3600.0  # a delay or a hold never keeps a handler thread longer than this
MAX_COUNT = 1_000_000
FIELDS = ("method", "pathRegex", "status", "delay_s", "count", "message", "for_s", "hold", "drop")


@dataclass
class Fault:
    """Calls whose method and path match get `status` (a Google error body), wait `delay_s` first,
    wait until released (`hold`), or lose their response (`drop`)."""

    method: str = "*"
    pathRegex: str = ".*"  # noqa: N815 - the admin API's JSON name
    status: int | None = None
    delay_s: float = 0.0
    count: int = 1  # calls affected; -1 for every call until cleared
    message: str | None = None
    for_s: float = 0.0  # > 0: active only this many seconds after it was added (then dropped)
    hold: bool = False
    drop: bool = False
    hits: int = 0
    added_at: float = 0.0

    def expired(self, now: float) -> bool:
        return self.for_s > 0 and now - self.added_at >= self.for_s

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and re.search(self.pathRegex, path) is not None


def _number(spec: dict, name: str, default: float, low: float, high: float) -> float:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise invalid(f"Invalid value at 'fault.{name}' ({str(value)[:40]}): a number of seconds from {low:g} to {high:g}")
    return float(value)


@overload
def _integer(spec: dict, name: str, default: int, low: int, high: int) -> int: ...
@overload
def _integer(spec: dict, name: str, default: None, low: int, high: int) -> int | None: ...
def _integer(spec: dict, name: str, default: int | None, low: int, high: int) -> int | None:
    """The field, in range; None only when it is absent or null and has no default."""
    value = spec.get(name, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"Invalid value at 'fault.{name}' ({str(value)[:40]}): an integer from {low} to {high}")
    return value


def _text(spec: dict, name: str, default: str | None) -> str | None:
    value = spec.get(name, default)
    if value is not None and not isinstance(value, str):
        raise invalid(f"Invalid value at 'fault.{name}': a string")
    return value


def _flag(spec: dict, name: str) -> bool:
    value = spec.get(name, False)
    if not isinstance(value, bool):
        raise invalid(f"Invalid value at 'fault.{name}': true or false")
    return value


def parse_fault(spec: object) -> Fault:
    """A fault from its JSON spec, or INVALID_ARGUMENT naming the field and the rule."""
    if not isinstance(spec, dict):
        raise invalid("a fault is a JSON object")
    unknown = sorted(str(k) for k in spec if k not in FIELDS)
    if unknown:
        raise invalid(f"unknown fault field {unknown[0][:40]!r}; fields: {', '.join(FIELDS)}")
    count = _integer(spec, "count", 1, -1, MAX_COUNT)
    if count == 0:
        raise invalid("Invalid value at 'fault.count' (0): 1 or more calls, or -1 for every call until cleared")
    fault = Fault(
        method=(_text(spec, "method", "*") or "*").upper(),
        pathRegex=_text(spec, "pathRegex", ".*") or ".*",
        status=_integer(spec, "status", None, 400, 599),
        delay_s=_number(spec, "delay_s", 0, 0, MAX_DELAY_S),
        count=count,
        message=_text(spec, "message", None),
        for_s=_number(spec, "for_s", 0, 0, MAX_DELAY_S),
        hold=_flag(spec, "hold"),
        drop=_flag(spec, "drop"),
        added_at=time.monotonic(),
    )
    if fault.status is None and not (fault.delay_s or fault.hold or fault.drop):
        raise invalid("a fault needs a status (400-599, e.g. 503), a delay_s, hold or drop")
    if fault.drop and fault.status is not None:
        raise invalid("a dropped call has no answer: give drop or a status, not both")
    try:
        re.compile(fault.pathRegex)
    except (re.error, RecursionError, OverflowError) as exc:
        raise invalid(f"invalid pathRegex: {exc}") from None
    return fault


@dataclass
class Hit:
    """A call a fault applies to: `wait()` as the fault says, then the error to answer, if any."""

    fault: Fault
    gate: threading.Event
    faults: "Faults"

    @property
    def drop(self) -> bool:
        return self.fault.drop

    def wait(self) -> ApiError | None:
        if self.fault.delay_s:
            threading.Event().wait(self.fault.delay_s)
        if self.fault.hold:
            with self.faults.holding():
                self.gate.wait(MAX_DELAY_S)
        return Faults.error_for(self.fault)


class Faults:
    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._gate = threading.Event()  # set to let the calls held so far go on
        self.held = 0  # calls waiting on a `hold` fault now: a test releases them once they are there

    def add(self, spec: object) -> Fault:
        fault = parse_fault(spec)
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
        self.release()

    def release(self) -> None:
        """Every call held until now goes on; later calls matching a `hold` fault are held again."""
        with self._lock:
            gate, self._gate = self._gate, threading.Event()
        gate.set()

    @contextmanager
    def holding(self) -> Iterator[None]:
        with self._lock:
            self.held += 1
        try:
            yield
        finally:
            with self._lock:
                self.held -= 1

    def list(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._rules]

    def take(self, method: str, path: str) -> "Hit | None":
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
                    return Hit(fault, self._gate, self)  # the gate of this moment: a later release frees it
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
