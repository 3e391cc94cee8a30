"""Fixtures of the sandbox tests (defined in sandbox_world.py, which tests also import)."""

from sandbox_world import instances, world  # noqa: F401 - fixtures
