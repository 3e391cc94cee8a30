"""Every Python file compiles without a warning: Python 3.12+ prints a SyntaxWarning for an invalid
escape such as `\\p` to the user of `pulumi up` (the program and the pack are compiled on first run)."""

from __future__ import annotations

import subprocess
import warnings

from dicomstream.capture import PROJECT_ROOT


def test_no_source_file_compiles_with_a_warning():
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    assert "__main__.py" in files
    noisy = {}
    for name in files:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                compile((PROJECT_ROOT / name).read_text(encoding="utf-8"), name, "exec")
            except (SyntaxWarning, DeprecationWarning, SyntaxError) as exc:
                noisy[name] = str(exc)
    assert noisy == {}
