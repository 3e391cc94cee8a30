"""A capture leaves no unclosed event loop behind: one the garbage collector finalises prints an
`Exception ignored ... Invalid file descriptor` traceback into `plan` and PR-preview output."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from dicomstream.capture import PROJECT_ROOT

SCRIPT = textwrap.dedent("""
    import asyncio, gc
    from bench.stacks import stack_config
    from dicomstream.capture import run_program

    capture = run_program(stack_config(20), stack="big")
    assert capture.error is None, capture.error
    # The SDK's handler threads end with the default executor; their thread-local loops go with them.
    loop = asyncio.get_event_loop()
    loop.run_until_complete(loop.shutdown_default_executor())
    gc.collect()
    print("resources", len(capture.resources))
""")


def test_a_capture_leaves_no_unclosed_event_loop_for_the_garbage_collector():
    result = subprocess.run([sys.executable, "-X", "dev", "-W", "always::ResourceWarning", "-c", SCRIPT],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "resources" in result.stdout
    assert "unclosed event loop" not in result.stderr, result.stderr[-3000:]
    assert "Exception ignored" not in result.stderr, result.stderr[-3000:]


FAILING = textwrap.dedent("""
    from dicomstream.core.config import read_stack_document, stack_file
    from dicomstream.capture import PROJECT_ROOT, run_program

    doc = read_stack_document(stack_file("dev", PROJECT_ROOT / "tests" / "fixtures"))
    bad = {**doc, "dicomstream:dicomStores": [{"name": "radiology", "streams": ["dicom_metadata.bad-name"]}]}
    assert run_program(doc, stack="dev").error is None
    assert run_program(bad, stack="dev").error is not None
    print("done")
""")


def test_a_program_that_fails_leaves_no_pending_task_behind():
    result = subprocess.run([sys.executable, "-X", "dev", "-c", FAILING], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0 and "done" in result.stdout, result.stderr[-3000:]
    assert "Task was destroyed" not in result.stderr, result.stderr[-3000:]
    assert "never awaited" not in result.stderr, result.stderr[-3000:]
