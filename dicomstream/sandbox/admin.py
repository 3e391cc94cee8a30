"""Python helper for the stand-in's admin API (`/_sandbox/...`): faults, clock, streaming logs.

Works against any running sandbox (in-process or `dicomstream sandbox up`) by its base URL.
"""

from __future__ import annotations

from datetime import datetime

import requests


# A clone writes each copy to the store and streams it to every table: on a loaded 2-core machine that
# was seen near 10 ms per copy per table, so the read timeout grows with the work, far past any load.
CLONE_S_PER_INSTANCE = 0.1


class SandboxAdmin:
    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout  # a hang guard for calls whose work does not grow with their input

    def _call(self, method: str, path: str, body: object = None, timeout: float | None = None) -> dict:
        # Every change carries a JSON body: the admin API refuses one without (see admin_api.py).
        if body is None and method != "GET":
            body = {}
        response = requests.request(method, f"{self.base_url}/_sandbox/{path}", json=body,
                                    timeout=timeout or self.timeout)
        response.raise_for_status()
        return response.json()

    def add_fault(
        self,
        path_regex: str = ".*",
        method: str = "*",
        status: int | None = None,
        delay_s: float = 0.0,
        count: int = 1,
        message: str | None = None,
        for_s: float = 0.0,
        hold: bool = False,
        drop: bool = False,
    ) -> dict:
        """The next `count` matching calls (-1: all until cleared) get `status` and/or wait `delay_s`;
        with `for_s`, only during the next `for_s` seconds. `hold`: they wait until `release_faults()`
        (or `clear_faults()`); `drop`: they are carried out and their answer is lost."""
        spec = {"method": method, "pathRegex": path_regex, "count": count, "delay_s": delay_s}
        if hold:
            spec["hold"] = True
        if drop:
            spec["drop"] = True
        if for_s:
            spec["for_s"] = for_s
        if status is not None:
            spec["status"] = status
        if message is not None:
            spec["message"] = message
        return self._call("POST", "faults", spec)

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def release_faults(self) -> None:
        """Let every call held by a `hold` fault go on."""
        self._call("POST", "faults/release")

    def held(self) -> int:
        """How many calls a `hold` fault holds now (release them once they are there)."""
        return self._call("GET", "faults")["held"]

    def set_clock(self, now: datetime) -> dict:
        return self._call("POST", "clock", {"now": now.isoformat()})

    def advance_clock(self, seconds: float) -> dict:
        return self._call("POST", "clock", {"advance_s": seconds})

    def reset_clock(self) -> dict:
        return self._call("POST", "clock", {"reset": True})

    def now(self) -> datetime:
        return datetime.fromisoformat(self._call("GET", "clock")["now"])

    def stream_errors(self) -> list[dict]:
        """Recent `healthcare.googleapis.com/dicom_stream` log entries (newest last)."""
        return self._call("GET", "logs")["entries"]

    def clone_instances(self, store: str, sop: str, count: int, prefix: str = "1") -> list[str]:
        """`count` copies of stored instance `sop` in `store` (resource name), with UIDs 2.25.PREFIX...,
        stored and streamed (INSERT rows) at once; their SOP Instance UIDs. For benchmarks."""
        body = {"store": store, "sop": sop, "count": count, "prefix": prefix}
        return self._call("POST", "clone", body, timeout=self.timeout + count * CLONE_S_PER_INSTANCE)["sops"]

    def reset(self) -> None:
        """Forget all Healthcare datasets, stores, IAM policies, operations, faults and clock offset."""
        self._call("POST", "reset")

    def healthy(self) -> bool:
        try:
            return self._call("GET", "health").get("status") == "ok"
        except requests.RequestException:
            return False
