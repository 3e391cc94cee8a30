"""Rich consoles that colour only a real terminal.

Rich forces terminal output when FORCE_COLOR or TTY_COMPATIBLE is set, whatever the stream is:
a CI runner's log or a pipe into `grep` then gets escape codes. The stream alone decides here
(NO_COLOR still turns colour off on a terminal, as rich reads it).
"""

from __future__ import annotations

import sys
from typing import Any


def is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def console(*, stderr: bool = False, **options: Any):
    """A rich Console on stdout (or stderr) that is a terminal only when that stream is one."""
    from rich.console import Console

    return Console(stderr=stderr, force_terminal=is_tty(sys.stderr if stderr else sys.stdout), **options)
