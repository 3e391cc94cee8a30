"""Stack files (and the plan's JSON inputs) read from disk, bounded in time and memory.

Opened non-blocking (a FIFO never hangs), checked with fstat on the open descriptor (no race
between the check and the read: a directory, FIFO, device or socket is refused), and read to at
most MAX_BYTES + 1 bytes (`/dev/zero` cannot exhaust memory).
"""

from __future__ import annotations

import os
import stat

from dicomstream.core.config.diagnostics import ConfigError, Issue

MAX_BYTES = 2 * 1024 * 1024
# The most DICOM stores a stack declares: above the ~10,500 of five streams each that fit in
# MAX_BYTES as people write them, and the bound every plan-sized limit below is derived from.
MAX_STORES = 11_000
# A plan's size is bounded by what each store adds whatever its names (its steps' URNs, options
# and outputs), plus what each byte of its entry in the stack file becomes (names repeat in inputs,
# URNs and outputs), plus the stack's own resources (APIs, datasets, grants, monitoring);
# tests/plan/test_plan_limits.py measures the three on real plans of bare, bench-shaped and
# longest-name stores and checks these bounds.
PLAN_BYTES_PER_STORE = 4_000  # its DicomStore, its DicomStoreStreams and their outputs
PLAN_BYTES_PER_STACK_BYTE = 10
PLAN_BYTES_FIXED = 64 * 1024
# Twice the bound for the largest valid stack (MAX_STORES stores in a MAX_BYTES file): about 130 MB;
# a plan of 10,000 stores × 5 streams is about 57 MB. `plan --compare` and `preview report` read this.
PLAN_MAX_BYTES = 2 * (PLAN_BYTES_PER_STORE * MAX_STORES + PLAN_BYTES_PER_STACK_BYTE * MAX_BYTES + PLAN_BYTES_FIXED)


STACK_FILE_HINT = "no such file; stack files live in stacks/Pulumi.<stack>.yaml"


def read_bytes(path: os.PathLike | str, file: str, missing: str = STACK_FILE_HINT, limit: int = MAX_BYTES,
               follow_symlinks: bool = True) -> bytes:
    """The file's bytes; ConfigError for anything that is not a readable regular file of sane size
    (with `follow_symlinks=False`, a symbolic link is refused too: O_NOFOLLOW, no race)."""

    def fail(message: str) -> ConfigError:
        return ConfigError([Issue(file, "(file)", message)])

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise fail(missing) from None
    except OSError as exc:
        if not follow_symlinks and os.path.islink(path):
            raise fail("is a symbolic link; only regular files are read here") from None
        raise fail(f"cannot open the file: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL byte in the path
        raise fail(f"cannot open the file: {exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise fail("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise fail("is not a regular file (a FIFO, device or socket)")
        if info.st_size > limit:
            raise fail(f"is {info.st_size:,} bytes; at most {limit:,} are read")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise fail(f"holds more than {limit:,} bytes; at most {limit:,} are read")
        return b"".join(chunks)
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def decode_text(data: bytes, file: str) -> str:
    """UTF-8 text without a byte-order mark (Pulumi strips it too)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Issue(file, "(file)", f"not UTF-8 text (byte {exc.start}: {exc.reason}); "
                                                 "a stack file is YAML text")]) from None
    return text[1:] if text.startswith("\ufeff") else text
