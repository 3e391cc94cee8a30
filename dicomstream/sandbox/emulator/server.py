"""The emulator's HTTP server (stdlib, threaded, HTTP/1.1 keep-alive): builds the backends, then
dispatches each request: admin API, faults, system parameters, the service's route, `fields`."""

from __future__ import annotations

import sys
import traceback
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from dicomstream.sandbox.clock import Clock
from dicomstream.sandbox.emulator import admin_api, http, resourcemanager, storage
from dicomstream.sandbox.emulator.core import Core
from dicomstream.sandbox.emulator.dicomweb import responses as dicomweb_responses
from dicomstream.sandbox.emulator.dicomweb.backend import DicomWebBackend
from dicomstream.sandbox.emulator.errors import ApiError
from dicomstream.sandbox.emulator.faults import Faults
from dicomstream.sandbox.emulator.healthcare import responses as healthcare_responses
from dicomstream.sandbox.emulator.healthcare.backend import HealthcareBackend
from dicomstream.sandbox.emulator.iam import IamPolicies
from dicomstream.sandbox.serving import SandboxServer, ServedInThread

LOOPBACK = "127.0.0.1"
MAX_BODY = 512 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, every keep-alive response waits
    # for the client's delayed ACK (about 40 ms on Linux).
    disable_nagle_algorithm = True
    server_version = "dicomstream-sandbox"
    server: "SandboxHTTPServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, f"request body over {MAX_BODY} bytes", "INVALID_ARGUMENT")
        return self.rfile.read(length) if length else b""

    def _send(self, response: http.Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _dispatch(self) -> None:
        try:
            response = self._respond()
        except Exception as exc:  # noqa: BLE001 - a bug answers in Google's shape; the thread lives on
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            response = http.error_response(ApiError(500, f"internal error in the sandbox: {type(exc).__name__}", "INTERNAL"))
        if response.dropped:
            self.close_connection = True
            return
        self._send(response)

    def _respond(self) -> http.Response:
        try:
            body = self._read_body()
        except (ValueError, ApiError) as exc:
            self.close_connection = True
            err = exc if isinstance(exc, ApiError) else ApiError(400, f"malformed request body: {exc}")
            return http.json_response(err.body(), err.code)
        split = urlsplit(self.path)
        path = unquote(split.path).rstrip("/") or "/"
        request = http.Request(
            method=self.command,
            path=path,
            query={k: v for k, v in parse_qs(split.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        return self.server.handle(request)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _dispatch  # noqa: N815


class Backends:
    """One backend per service over a shared core, and the routers that serve them."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.policies = IamPolicies(core)
        self.healthcare = HealthcareBackend(core, self.policies)
        self.dicomweb = DicomWebBackend(core, self.healthcare)
        self.resourcemanager = resourcemanager.ResourceManagerBackend(self.policies)
        self.storage = storage.StorageBackend()
        self.healthcare.storage = self.storage  # an export's filterConfig file
        self.routers = [
            healthcare_responses.router(core, self.healthcare),
            dicomweb_responses.router(self.dicomweb),
            resourcemanager.router(self.resourcemanager),
            storage.router(self.storage),
        ]

    def find(self, method: str, path: str) -> tuple[http.Route | None, dict[str, str], bool]:
        known = False
        for router in self.routers:
            route, groups, path_known = router.find(method, path)
            if route is not None:
                return route, groups, True
            known = known or path_known
        return None, {}, known


def _keep_pydicom_value_warnings_server_side() -> None:
    """pydicom warns on stderr about every value that breaks its VR's rules (a UID over 64
    characters in a pydicom sample). Google's server stores such instances without a word to the
    client, and the emulator often shares the client's process (`make demo`, the tests): its
    warnings must not land in the user's terminal. They still reach pydicom's logger."""
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom\.valuerep")


class SandboxHTTPServer(SandboxServer):
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, backends: Backends, port: int = 0, verbose: bool = False) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        _keep_pydicom_value_warnings_server_side()
        self.backends = backends
        self.faults = Faults()
        self.verbose = verbose
        backends.core.base_url = self.url

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"

    def handle(self, request: http.Request) -> http.Response:
        if request.path.startswith(admin_api.PREFIX):
            try:
                return admin_api.handle(self.backends, self.faults, request, LOOPBACK, self.server_address[1])
            except ApiError as exc:
                return http.error_response(exc)
            except (ValueError, TypeError, KeyError) as exc:
                return http.error_response(ApiError(400, f"bad admin request: {exc}"))
        hit = self.faults.take(request.method, request.path)
        if hit is not None:
            error = hit.wait()
            if error is not None:
                return http.error_response(error)
        response = self._serve(request)
        return http.Response(0, dropped=True) if hit is not None and hit.drop else response  # done; answer lost

    def _serve(self, request: http.Request) -> http.Response:
        route, groups, path_known = self.backends.find(request.method, request.path)
        if route is None:
            if path_known:
                err = ApiError(405, f"method {request.method} is not allowed on {request.path}", "UNIMPLEMENTED")
            else:
                return http.unknown_url(request.path)
            return http.error_response(err)
        request.groups = groups
        try:
            request.query, request.system = http.split_system_parameters(request.query)
            http.check_parameters(request, route.params)
            response = route.handler(request)
        except ApiError as exc:
            return http.error_response(exc)
        except Exception as exc:  # noqa: BLE001 - a server bug must still answer in Google's shape
            traceback.print_exc(file=sys.stderr)
            return http.error_response(ApiError(500, f"internal error in the sandbox: {type(exc).__name__}: {exc}", "INTERNAL"))
        selector = request.system.get("fields")
        if selector and response.status < 300 and response.data is not None:
            try:
                response = http.json_response(http.partial(response.data, selector), response.status, response.content_type, response.headers)
            except ApiError as exc:
                return http.error_response(exc)
        return response


class EmulatorServer(ServedInThread):
    """The emulator on 127.0.0.1 (Healthcare, DICOMweb, Resource Manager), served from a thread."""

    httpd: SandboxHTTPServer
    thread_name = "sandbox-healthcare"

    def __init__(
        self,
        bigquery_endpoint: str,
        port: int = 0,
        state_path: Path | None = None,
        log_path: Path | None = None,
        clock: Clock | None = None,
        verbose: bool = False,
    ) -> None:
        self.core = Core(bigquery_endpoint, clock=clock, state_path=state_path, log_path=log_path)
        self.backends = Backends(self.core)
        self.httpd = SandboxHTTPServer(self.backends, port=port, verbose=verbose)

    @property
    def url(self) -> str:
        return self.httpd.url

    def stop(self) -> None:
        super().stop()
        self.core.close()
