"""A guard around the SDK's serialisation of a dynamic resource's provider."""

from __future__ import annotations

import pickle
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def pickler_restored() -> Iterator[None]:
    """Pulumi's provider serialisation (pulumi.dynamic.serialize_provider, SDK 3.272) wraps
    pickle._Pickler._batch_setitems in a sorting wrapper on every call and never unwraps it: one
    more layer per dynamic resource, so a stack of about 950 stores died of RecursionError. A
    dynamic resource constructed inside this leaves the pickler as it found it."""
    saved = {attr: pickle._Pickler.__dict__.get(attr) for attr in ("_batch_setitems", "save_dict")}
    try:
        yield
    finally:
        for attr, value in saved.items():
            if value is not None:
                setattr(pickle._Pickler, attr, value)
