"""Unpack the head's `head-plans` artifact as data: `python -m dicomstream.preview.artifact ZIP DIR`.

The artifact is what the pull request's own code wrote (its `preview` run), so the review job
treats the archive as hostile before `preview report` reads a byte of it: only regular files named
as `preview capture` names them (`manifest.json`, `STACK.plan.json` for a valid stack name) are
written, at the top of DIR and nowhere else, each at most what `preview report` reads of a plan; links, folders, devices, other names, duplicates and
oversized entries are left out and named (sizes counted as decompressed, never as declared). A
file left out is a plan missing, which `preview report` reports as blocking. Exit 0 unless the
arguments are unusable (2): an unreadable archive is said and leaves DIR empty.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import zipfile
from pathlib import Path

from dicomstream.core.config.files import PLAN_MAX_BYTES
from dicomstream.core.naming import stack_name_problem

MAX_ENTRIES = 500  # a capture writes one manifest and one plan per stack
MAX_TOTAL_BYTES = 8 * PLAN_MAX_BYTES  # decompressed, all files together: eight stacks of the largest valid plan
MAX_ARCHIVE_BYTES = 128 * 1024 * 1024  # the zip itself (fetch-capture.sh stops downloading beyond it)
MANIFEST = "manifest.json"
PLAN_SUFFIX = ".plan.json"


def _shown(name: str) -> str:
    """A name from the archive for a log line: quoted, escaped, short (never starts a workflow command)."""
    return json.dumps(name[:200] + ("..." if len(name) > 200 else ""))


def _name_problem(name: str) -> str | None:
    if name == MANIFEST:
        return None
    if name.endswith(PLAN_SUFFIX) and stack_name_problem(name[: -len(PLAN_SUFFIX)]) is None:
        return None
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        return "is not a file at the top of the artifact"
    return f"is not a file `preview capture` writes ({MANIFEST} or STACK{PLAN_SUFFIX})"


def _kind_problem(info: zipfile.ZipInfo) -> str | None:
    if info.is_dir():
        return "is a folder"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if mode and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, device or socket)"
    return None


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """The entry's bytes, or None once more than `limit` come out (a bomb stops there)."""
    with archive.open(info) as entry:
        data = entry.read(limit + 1)
    return None if len(data) > limit else data


def _write(directory: Path, name: str, data: bytes) -> None:
    fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def unpack(archive_path: Path, directory: Path) -> tuple[list[str], list[str]]:
    """(names written into `directory`, lines saying what was left out and why)."""
    if directory.is_symlink() or (directory.exists() and (not directory.is_dir() or any(directory.iterdir()))):
        return [], [f"{directory}: must be a new, empty folder; nothing unpacked"]
    try:
        size = os.lstat(archive_path).st_size
        if not stat.S_ISREG(os.lstat(archive_path).st_mode):
            return [], [f"{archive_path}: is not a regular file; nothing unpacked"]
        if size > MAX_ARCHIVE_BYTES:
            return [], [f"{archive_path}: is {size:,} bytes; at most {MAX_ARCHIVE_BYTES:,}; nothing unpacked"]
        archive = zipfile.ZipFile(archive_path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        return [], [f"{archive_path}: not a usable zip archive ({exc}); nothing unpacked"]
    written: list[str] = []
    left: list[str] = []
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            return [], [f"{archive_path}: {len(entries):,} entries; at most {MAX_ENTRIES}; nothing unpacked"]
        counts: dict[str, int] = {}
        for info in entries:
            counts[info.filename] = counts.get(info.filename, 0) + 1
        directory.mkdir(parents=True, exist_ok=True)
        budget = MAX_TOTAL_BYTES
        for info in entries:
            name = info.filename
            problem = _name_problem(name) or _kind_problem(info)
            if problem is None and counts[name] > 1:
                problem = f"appears {counts[name]} times in the archive (which one is meant is not for us to pick)"
            if problem is None and info.flag_bits & 0x1:
                problem = "is encrypted"
            if problem is None:
                limit = min(PLAN_MAX_BYTES, budget)
                try:
                    data = _read(archive, info, limit)
                except (OSError, zipfile.BadZipFile, ValueError, NotImplementedError, EOFError) as exc:
                    data, problem = None, f"cannot be read ({exc})"
                if data is not None:
                    budget -= len(data)
                    _write(directory, name, data)
                    written.append(name)
                    continue
                problem = problem or f"holds more than {limit:,} bytes"
            left.append(f"head-plans: left out {_shown(name)}: {problem}")
    return written, left


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m dicomstream.preview.artifact ARCHIVE.zip DIR", file=sys.stderr)
        return 2
    written, left = unpack(Path(argv[0]), Path(argv[1]))
    for line in left:
        print(line)
    print(f"head-plans: {len(written)} file(s) unpacked into {argv[1]}" + (f": {', '.join(written)}" if written else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
