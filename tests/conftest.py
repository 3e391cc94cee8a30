"""Shared fixtures: the local sandbox (BigQuery emulator + Healthcare API stand-in) for any test
that asks for it. See dicomstream/sandbox/pytest_plugin.py for the fixtures it provides."""

from dicomstream import quiet_python_support_notice

quiet_python_support_notice()

pytest_plugins = ["dicomstream.sandbox.pytest_plugin"]


def pytest_configure(config):
    # google-api-core warns about Python 3.11's end of life on import; not actionable here.
    config.addinivalue_line("filterwarnings", "ignore::FutureWarning:google.api_core._python_version_support")
