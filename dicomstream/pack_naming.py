"""Keep the policy pack's copy of the naming rules equal to `components/naming.py`.

`pulumi policy publish` archives `policies/` alone, so the pack cannot import the repository's
`components`; it carries `policies/naming.py`, written from the one source by `make sync-naming`
(`python -m dicomstream.pack_naming`). A test fails when the two differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "components" / "naming.py"
COPY = ROOT / "policies" / "naming.py"
HEADER = ("# GENERATED from components/naming.py by `make sync-naming`: edit that file, not this copy.\n"
          "# The policy pack is published alone (`pulumi policy publish` archives policies/ only).\n")


def expected(source: Path = SOURCE) -> str:
    return HEADER + source.read_text(encoding="utf-8")


def in_sync(source: Path = SOURCE, copy: Path = COPY) -> bool:
    return copy.is_file() and copy.read_text(encoding="utf-8") == expected(source)


def main(argv: list[str] | None = None) -> int:
    """`--check`: exit 1 when the copy differs; otherwise write it."""
    args = sys.argv[1:] if argv is None else argv
    if in_sync():
        print(f"{COPY.relative_to(ROOT)} is up to date")
        return 0
    if "--check" in args:
        print(f"{COPY.relative_to(ROOT)} differs from {SOURCE.relative_to(ROOT)}: run `make sync-naming`",
              file=sys.stderr)
        return 1
    COPY.write_text(expected(), encoding="utf-8")
    print(f"wrote {COPY.relative_to(ROOT)} from {SOURCE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
