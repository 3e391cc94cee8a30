"""Shared fixtures: the local sandbox (BigQuery emulator + Healthcare API stand-in) for any test
that asks for it (see dicomstream/sandbox/pytest_plugin.py), and one known environment for every
test and every process a test starts."""

import os

import pytest


from dicomstream import quiet_python_support_notice

# Turning an Output into text is an error in every program the tests run (and their subprocesses),
# not the silent "Calling __str__ on an Output[T] is not supported" that would reach Google.
os.environ["PULUMI_ERROR_OUTPUT_STRING"] = "1"

quiet_python_support_notice()

pytest_plugins = ["dicomstream.sandbox.pytest_plugin"]

# What a runner or a developer's shell sets and the CLI's output must not depend on: GitHub sets
# GITHUB_ACTIONS=true on every runner, shells set COLUMNS/TERM, users FORCE_COLOR or NO_COLOR.
# Pinned here, at collection, before any server fixture or CLI process inherits the environment;
# tests/docs/test_cli_output.py runs the CLI under the hostile values on purpose.
RUNNER_VARIABLES = ("GITHUB_ACTIONS", "FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE", "NO_COLOR",
                    "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERMINAL_WIDTH", "_TYPER_FORCE_DISABLE_TERMINAL")
PINNED = {"COLUMNS": "80", "LINES": "24", "TERM": "xterm-256color"}
for _name in RUNNER_VARIABLES:
    os.environ.pop(_name, None)
os.environ.update(PINNED)


def pytest_configure(config):
    # google-api-core warns about Python 3.11's end of life on import; not actionable here.
    config.addinivalue_line("filterwarnings", "ignore::FutureWarning:google.api_core._python_version_support")


class StepClock:
    """A clock that moves only when something sleeps on it: `monotonic()` and `sleep()`, the two
    calls of `time` that retries, fault windows and pauses make. A wait of seconds then means a
    number of steps, the same on an idle and on a loaded machine, and costs no wall-clock time."""

    def __init__(self) -> None:
        import threading

        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def step_clock(monkeypatch):
    """A StepClock; `step_clock.install(module)` makes `module.time` this clock for the test."""
    clock = StepClock()
    clock.install = lambda module: monkeypatch.setattr(module, "time", clock)
    return clock


@pytest.fixture
def retry_clock(step_clock):
    """Every google-api-core retry in this process (ours, google-cloud-bigquery's) on a StepClock."""
    from google.api_core.retry import retry_base, retry_unary

    step_clock.install(retry_unary)
    step_clock.install(retry_base)
    return step_clock
