"""pytest fixtures for anything that needs the sandbox (enabled in tests/conftest.py).

- `sandbox` (session): one running Sandbox (emulator + stand-in) for the whole test session.
- `sandbox_admin` (function): its admin helper; faults, clock offset and Healthcare resources are
  reset after each test that uses it, so tests do not leak into each other. BigQuery data is not
  reset: use `unique_id` in dataset names.
- `healthcare` / `resourcemanager` (function): API clients pointed at the sandbox.
- `bigquery_client` (session): a google-cloud-bigquery client on the emulator.
- `unique_id` (function): a short random suffix for names.
"""

from __future__ import annotations

import uuid

import pytest

from dicomstream import quiet_python_support_notice
from dicomstream.sandbox.runtime import Sandbox


@pytest.fixture(scope="session")
def sandbox():
    quiet_python_support_notice()  # only that notice: other FutureWarnings stay visible
    box = Sandbox(ephemeral=True).start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def sandbox_admin(sandbox):
    admin = sandbox.admin
    yield admin
    admin.reset()


@pytest.fixture
def healthcare(sandbox):
    return sandbox.healthcare_client(deadline=20.0, timeout=10.0)


@pytest.fixture
def resourcemanager(sandbox):
    return sandbox.resourcemanager_client(deadline=20.0, timeout=10.0)


@pytest.fixture(scope="session")
def bigquery_client(sandbox):
    return sandbox.bigquery_client()


@pytest.fixture
def unique_id():
    return uuid.uuid4().hex[:8]
