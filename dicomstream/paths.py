"""Where the project lives: commands work from a clone's root or from anywhere inside it."""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def project_root(start: Path | None = None) -> Path:
    """The nearest directory holding `Pulumi.yaml` (cwd upwards), else the installed checkout."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return PACKAGE_ROOT


def policy_pack_dir(root: Path) -> Path:
    """The project's `policies/`, else the installed checkout's (a stack folder outside a clone)."""
    return next((d for d in (root / "policies", PACKAGE_ROOT / "policies") if d.is_dir()), root / "policies")
