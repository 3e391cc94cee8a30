"""Errors as Google returns them: `{"error": {"code", "message", "status"}}`."""

from __future__ import annotations

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# google.rpc.Code numbers, used in a long-running operation's `error`.
RPC_CODE = {
    "CANCELLED": 1, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9, "INTERNAL": 13, "UNAVAILABLE": 14, "UNIMPLEMENTED": 12,
    "UNAUTHENTICATED": 16,
}


class ApiError(Exception):
    """An HTTP error response with Google's body."""

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE.get(code, "UNKNOWN")

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}

    def rpc_status(self) -> dict:
        """The same error as a google.rpc.Status (what an operation's `error` holds)."""
        return {"code": RPC_CODE.get(self.status, 2), "message": self.message}


def invalid(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def not_found(message: str) -> ApiError:
    return ApiError(404, message, "NOT_FOUND")


def already_exists(message: str) -> ApiError:
    return ApiError(409, message, "ALREADY_EXISTS")


def permission_denied(message: str) -> ApiError:
    return ApiError(403, message, "PERMISSION_DENIED")


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, "FAILED_PRECONDITION")
