"""Keep the policy pack's copies of the core model's naming rules and roles equal to their source.

`pulumi policy publish` archives `policies/` alone, so the pack cannot import `dicomstream.core`;
it carries `policies/naming.py`, `policies/roles.py` and `policies/stream_options.py`, written from the one source by
`make sync-naming` (`python -m dicomstream.pack_naming`). A test fails when a copy differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "dicomstream" / "core"
PACK = ROOT / "policies"
#: (source, copy): modules of the core model that the pack needs, pure Python with no imports of ours.
COPIES = tuple((CORE / name, PACK / name) for name in ("naming.py", "roles.py", "stream_options.py"))


def expected(source: Path) -> str:
    header = (f"# GENERATED from dicomstream/core/{source.name} by `make sync-naming`: edit that file, not this copy.\n"
              "# The policy pack is published alone (`pulumi policy publish` archives policies/ only).\n")
    return header + source.read_text(encoding="utf-8")


def in_sync(source: Path, copy: Path) -> bool:
    return copy.is_file() and copy.read_text(encoding="utf-8") == expected(source)


def main(argv: list[str] | None = None) -> int:
    """`--check`: exit 1 when a copy differs; otherwise write the copies that differ."""
    args = sys.argv[1:] if argv is None else argv
    stale = [(source, copy) for source, copy in COPIES if not in_sync(source, copy)]
    for source, copy in stale:
        if "--check" in args:
            print(f"{copy.relative_to(ROOT)} differs from {source.relative_to(ROOT)}: run `make sync-naming`",
                  file=sys.stderr)
        else:
            copy.write_text(expected(source), encoding="utf-8")
            print(f"wrote {copy.relative_to(ROOT)} from {source.relative_to(ROOT)}")
    if not stale:
        print("the policy pack's copies are up to date")
    return 1 if stale and "--check" in args else 0


if __name__ == "__main__":
    sys.exit(main())
