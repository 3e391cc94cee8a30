"""One pull-request comment for the plans of several stacks (what `preview.yml` posts).

    python -m dicomstream.plan.comment plans/dev.json plans/staging.json plans/prod.json --out comment.md

Exit 2 when a plan file is unusable (the message names it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dicomstream.plan.markdown import LIMIT, render_markdown
from dicomstream.plan.model import PlanFileError, load_plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dicomstream.plan.comment", description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="+", type=Path, help="JSON plans from `dicomstream plan --format json`")
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument("--title", default="dicomstream plan")
    parser.add_argument("--limit", type=int, default=LIMIT, help=f"maximum characters [default: {LIMIT}]")
    args = parser.parse_args(argv)
    try:
        plans = [load_plan(path) for path in args.plans]
    except PlanFileError as error:
        print(error, file=sys.stderr)
        return 2
    text = render_markdown(plans, limit=args.limit, title=args.title)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
