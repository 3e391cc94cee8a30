"""The `dicomstream` console script: the command line, or one line saying which extra to install
when the command line's own dependencies are missing (exit 2). Standard library only until the
command line imports."""

from __future__ import annotations

import sys


def main() -> None:
    from dicomstream.extras import EXIT_MISSING, explain

    try:
        from dicomstream.cli import main as run
    except ImportError as exc:
        hint = explain(exc)
        if hint is None:
            raise
        print(f"dicomstream: {hint}", file=sys.stderr)
        sys.exit(EXIT_MISSING)
    run()
