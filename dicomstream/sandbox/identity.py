"""Deterministic fake project numbers: the sandbox and the offline plan's mocks agree on them."""

from __future__ import annotations

import hashlib

from dicomstream.core.naming import healthcare_service_agent_email


def fake_project_number(project_id: str) -> str:
    """A stable 12-digit project number for `project_id` (no leading zero, like real ones)."""
    digest = int.from_bytes(hashlib.sha256(project_id.encode()).digest()[:8], "big")
    return str(100_000_000_000 + digest % 900_000_000_000)


def fake_service_agent_email(project_id: str) -> str:
    """The Healthcare Service Agent email the sandbox uses for `project_id`."""
    return healthcare_service_agent_email(fake_project_number(project_id))
