"""What the Pulumi engine runs (`python -m pulumi.policy ADDRESS policies`): wiring only.

The engine runs this file by path, so the repository root is put on sys.path first: the rules
share `components.naming` with the Pulumi program.
"""

import sys
from pathlib import Path

_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from pulumi_policy import PolicyPack  # noqa: E402

from policies import ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL, PACK_NAME  # noqa: E402

PolicyPack(name=PACK_NAME, policies=ALL_POLICIES, enforcement_level=DEFAULT_ENFORCEMENT_LEVEL)
