"""JSON documents passed between jobs (plans, preview manifests), read as untrusted data.

A pull request's own code writes the head's documents, so reading one must stay bounded whatever
it holds: the bytes through the stack files' reader (a regular file, no FIFO or device, at most
a size; for captures no symbolic link), then JSON with no number longer than `MAX_NUMBER_DIGITS`
digits, no NaN or Infinity, and nesting at most `MAX_DEPTH` deep (the pack's gRPC messages nest
two levels per JSON level, under protobuf's limit of 100). Every failure is DocumentError with a
line naming the file.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from dicomstream.core.config.diagnostics import ConfigError
from dicomstream.core.config.engine import _depth
from dicomstream.core.config.files import PLAN_MAX_BYTES, read_bytes

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 30


class DocumentError(ValueError):
    """A document cannot be used; the message names the file and why."""


def _number(text: str) -> int | float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number of {len(text)} digits (at most {MAX_NUMBER_DIGITS})")
    if not any(c in text for c in ".eE"):
        return int(text)
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_document(path: os.PathLike | str, *, missing: str, follow_symlinks: bool = True,
                  limit: int = PLAN_MAX_BYTES) -> Any:
    """The JSON value in `path`; DocumentError (one line naming the file) for anything else."""
    try:
        data = read_bytes(path, str(path), missing, limit, follow_symlinks=follow_symlinks)
    except ConfigError as error:
        raise DocumentError(error.lines[0].replace(f"{path}: (file): ", f"{path}: ", 1)) from None
    try:
        value = json.loads(data.decode("utf-8"), parse_int=_number, parse_float=_number, parse_constant=_constant)
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise DocumentError(f"{path}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise DocumentError(f"{path}: not usable JSON: {exc}") from None
    if _depth(value) > MAX_DEPTH:
        raise DocumentError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    return value
