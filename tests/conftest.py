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


# -- Scheduling for `make test` (`-n 3 --dist loadgroup`): which tests share a worker, and the order
# workers take them in. It changes no test's outcome, only the wall time. (xdist's own loadgroup
# reads `xdist_group` marks by rewriting node ids, which pytest 9 no longer allows; the scheduler
# hook below is xdist's public way to say what a work unit is.)

# A work unit is a test file (its module fixtures are built once), except these: a directory whose
# session fixture is expensive (one venv with dicomstream pip-installed), and files whose tests
# are independent and long, each test its own unit so both workers share them.
SHARED_DIRECTORIES = ("tests/package/",)
SPLIT_FILES = ("tests/docs/test_blocks.py", "tests/sandbox/test_sandbox_commands.py")
SPLIT_TESTS = ("tests/workflow/test_preview_job.py::test_a_thousand_stores",)

# Longest first (seconds of one run, `pytest --durations=0`, December 2026), so that the last unit
# a worker takes is a short one; units not listed are counted at 0.2 s per test.
UNIT_SECONDS = {
    "tests/docs/test_blocks.py::test_run_blocks_run[docs/cli.md]": 68,
    "tests/workflow/test_preview_job.py": 70,
    "tests/workflow/test_hostile_captures.py": 67,
    "tests/package/": 40,
    "tests/docs/test_blocks.py::test_run_blocks_run[README.md]": 40,
    "tests/reconciler/test_kill_and_concurrency.py": 35,
    "tests/config/test_cli_hostile.py": 33,
    "tests/reconciler/test_acceptance.py": 30,
    "tests/reconciler/test_deletes_and_dry_run.py": 30,
    "tests/engine/test_fresh_clone.py": 27,
    "tests/plan/test_plan_limits.py": 26,
    "tests/plan/test_plan_cli.py": 26,
    "tests/reconciler/test_ownership_content_locations.py": 25,
    "tests/policies/test_policy_grpc.py": 25,
    "tests/engine/test_lint.py": 22,
    "tests/sandbox/test_sandbox_commands.py::test_provision_then_drift_then_reconcile_as_a_user_would": 22,
    "tests/docs/test_blocks.py::test_run_blocks_run[docs/reconciler.md]": 21,
    "tests/reconciler/test_localised.py": 20,
    "tests/reconciler/test_faults_and_errors.py": 19,
    "tests/workflow/test_preview_job.py::test_a_thousand_stores": 16,
    "tests/sandbox/test_sandbox_commands.py::test_up_status_down_and_data_kept_across_restarts": 16,
    "tests/cli/test_missing_extras.py": 13,
    "tests/config/test_fuzz.py": 12,
    "tests/workflow/test_fetch_capture.py": 11,
    "tests/workflow/test_review.py": 10,
}


def work_unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    for directory in SHARED_DIRECTORIES:
        if path.startswith(directory):
            return directory
    for prefix in SPLIT_TESTS:
        if nodeid.startswith(prefix):
            return prefix
    if path in SPLIT_FILES:
        return nodeid
    return path


def pytest_collection_modifyitems(config, items):
    """Longest unit first (a stable sort: a unit's tests keep their order and stay together)."""
    units = [work_unit(item.nodeid) for item in items]
    count: dict[str, int] = {}
    for unit in units:
        count[unit] = count.get(unit, 0) + 1
    first: dict[str, int] = {}
    for index, unit in enumerate(units):
        first.setdefault(unit, index)
    keyed = sorted(zip(items, units), key=lambda pair: (-UNIT_SECONDS.get(pair[1], 0.2 * count[pair[1]]), first[pair[1]]))
    items[:] = [item for item, _ in keyed]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadgroup`: units as `work_unit` says, handed out in collection order."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return WorkUnits(config, log)
