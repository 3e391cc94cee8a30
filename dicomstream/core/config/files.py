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
# A JSON plan of 11,000 stores (the most a stack file can hold) is about 30 MiB.
PLAN_MAX_BYTES = 32 * 1024 * 1024


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
