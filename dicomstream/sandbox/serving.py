"""One way to serve a stdlib HTTP server from a daemon thread (the emulator, the BigQuery proxy)."""

from __future__ import annotations

import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Self

from dicomstream.sandbox.emulator.faults import Faults


class SandboxServer(ThreadingHTTPServer):
    """A threaded loopback server for which a client that went away (Ctrl-C, its time-out, a
    held call released after the client gave up) is normal: other errors are printed."""

    daemon_threads = True
    faults: Faults  # the fault rules its calls go through; each server makes its own in __init__

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - stdlib signature
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ServedInThread:
    """`start`/`stop` (and `with`) for a wrapper whose `httpd` carries its fault rules."""

    httpd: SandboxServer
    thread_name = "sandbox-server"
    _thread: threading.Thread | None = None

    @property
    def faults(self) -> Faults:
        return self.httpd.faults

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
