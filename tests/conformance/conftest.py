"""Fixtures of the conformance tests (defined in google_client.py, which tests also import)."""

from google_client import bq_dataset, dataset, google  # noqa: F401 - fixtures
