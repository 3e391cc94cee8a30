"""What the Pulumi engine runs (`python -m pulumi.policy ADDRESS DIR`): wiring only.

The engine runs this file by path, from wherever the pack was copied or unpacked (a published
pack lands in a directory named after its version), so the directory is loaded as a package
here, whatever its name; the rules import each other relatively and need nothing outside it.

The process serves one preview and is then killed, holding every resource of the stack meanwhile:
what is loaded is frozen out of the garbage collector's scans, which run rarely, and each request
decodes a resource once (`analyzer_cache`).
"""

import gc
import importlib.util
import sys
from pathlib import Path

from pulumi_policy import PolicyPack


def _load_pack(directory: Path, name: str = "dicomstream_policies"):
    spec = importlib.util.spec_from_file_location(name, directory / "__init__.py",
                                                  submodule_search_locations=[str(directory)])
    if spec is None or spec.loader is None:
        raise ImportError(f"{directory}: cannot be loaded as the policy pack (no __init__.py loader)")
    pack = importlib.util.module_from_spec(spec)
    sys.modules[name] = pack
    spec.loader.exec_module(pack)
    return pack


_pack = _load_pack(Path(__file__).resolve().parent)
importlib.import_module(f"{_pack.__name__}.analyzer_cache").install()
gc.freeze()
gc.set_threshold(100_000, 50, 100)
PolicyPack(name=_pack.PACK_NAME, policies=_pack.ALL_POLICIES, enforcement_level=_pack.DEFAULT_ENFORCEMENT_LEVEL)
