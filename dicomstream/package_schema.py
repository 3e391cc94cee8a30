"""The component package's schema, as the SDK's own component provider infers it.

`make schema` (`python -m dicomstream.package_schema`) writes `package/schema.json`; with `--check`
it exits 1 when the committed file differs (a test does the same).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA = Path(__file__).resolve().parent.parent / "package" / "schema.json"


def inferred() -> dict:
    from pulumi.provider.experimental.component import ComponentProvider

    import dicomstream
    from dicomstream.components import COMPONENTS

    provider = ComponentProvider(COMPONENTS, "dicomstream", version=dicomstream.__version__)
    assert provider.schema is not None  # a ComponentProvider always carries the schema it inferred
    return json.loads(provider.schema)


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render(inferred())
    if SCHEMA.is_file() and SCHEMA.read_text(encoding="utf-8") == text:
        print(f"{SCHEMA.name} is up to date")
        return 0
    if "--check" in args:
        print(f"{SCHEMA} differs from the components' annotations: run `make schema`", file=sys.stderr)
        return 1
    SCHEMA.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
