"""SIGKILL at each step followed by a rerun, and two concurrent `--apply` runs, as real processes."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest

from tests.reconciler.conftest import utcnow


def _uids(instances) -> set[str]:
    return {ds.SOPInstanceUID for ds in instances}


def _wait(predicate, timeout: float = 600.0) -> None:
    """Until the run reaches a step (held there by a `hold` fault); the bound only guards a hang."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the step was never reached"
        time.sleep(0.05)


def _gap(world, instances):
    """Instances stored while the stream configs were cleared by hand, then restored."""
    world.provision()
    world.store("radiology", instances[:2])
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.store("radiology", instances[2:5])
    world.healthcare.set_stream_configs(world.stores["radiology"], configured)


@pytest.mark.parametrize("step", ["export", "after_insert"])
def test_sigkill_at_a_step_then_a_rerun_converges(world, instances, step):
    _gap(world, instances)
    proxy = world.sandbox.bigquery.proxy
    if step == "export":  # the run waits on its export operation
        world.admin.add_fault(r"/operations/", method="GET", hold=True, count=-1)
        reached = lambda: world.admin.held() >= 1  # noqa: E731 (exports run in parallel: one or both)
    else:  # the INSERT ... SELECT committed, its audit row hangs
        proxy.faults.add({"method": "POST", "pathRegex": "_dicomstream_state/insertAll", "hold": True, "count": -1})
        reached = lambda: proxy.faults.held == 1  # noqa: E731
    proc = world.cli("reconcile", "--stack", "dev", "--apply", wait=False)
    try:
        _wait(reached)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=600)
        world.admin.clear_faults()
        proxy.faults.clear()

    held = world.run("reconcile", "--stack", "dev", "--apply")  # the killed run's lease is still there
    assert held.exit_code == 5 and "--break-lease" in held.output
    if step == "export":  # after the documented wait (LEASE_TTL: 3 minutes), with the clock moved, not slept
        from dicomstream.reconciler.lease import LEASE_TTL

        result = world.run("reconcile", "--stack", "dev", "--apply", now=utcnow() + timedelta(seconds=LEASE_TTL + 5))
    else:
        result = world.run("reconcile", "--stack", "dev", "--apply", "--break-lease")
    assert result.exit_code == 0, result.output
    world.assert_converged({"radiology": _uids(instances[:5]), "instances": _uids(instances[:5])})


def test_two_concurrent_apply_runs_do_not_duplicate_work(world, instances):
    _gap(world, instances)
    world.admin.add_fault(r"/operations/", method="GET", hold=True, count=1)  # the first run holds on
    first = world.cli("reconcile", "--stack", "dev", "--apply", wait=False)
    _wait(lambda: world.admin.held() == 1)  # it holds the lease and waits on its export
    second = world.cli("reconcile", "--stack", "dev", "--apply")
    out_second = second.output
    world.admin.release_faults()
    out_first, _ = first.communicate(timeout=600)
    assert (first.returncode, second.returncode) == (0, 5), (out_first, out_second)
    assert "another `reconcile --apply` of this stack is running" in out_second
    world.assert_converged({"radiology": _uids(instances[:5]), "instances": _uids(instances[:5])})


def test_an_instance_deleted_while_the_snapshot_is_taken_never_costs_a_live_row(world, instances):
    """The old QIDO offset listing shifted and deleted a live instance's rows."""
    from datetime import datetime, timedelta, timezone

    world.provision()
    world.store("radiology", instances[:6])
    world.admin.add_fault(r"/operations/", method="GET", hold=True, count=1)
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    proc = world.cli("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1", "--now", later, wait=False)
    _wait(lambda: world.admin.held() == 1)  # the snapshot is exported; the run waits on it
    world.delete("radiology", instances[2])  # while the run waits on its snapshot
    world.admin.release_faults()
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    live = _uids(instances[:6]) - {instances[2].SOPInstanceUID}
    for table in ("radiology", "instances"):
        assert world.current(table) == {uid: 1 for uid in live}
        assert live <= set(world.rows(table))
    result = world.run("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1",
                       now=datetime.now(timezone.utc) + timedelta(hours=1))
    assert result.exit_code == 0, result.output
    world.assert_converged({"radiology": live, "instances": live})
