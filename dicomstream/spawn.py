"""Children whose limits are set by the child itself, never through `subprocess`'s `preexec_fn`.

`preexec_fn` makes `subprocess` fork() where it would otherwise vfork(), and a fork() runs the
fork handlers gRPC installs (grpcio's core has fork support on by default on Linux). In a process
with a gRPC channel open (the policy pack's, held by `dicomstream plan`, `preview report`, a test
session), the child then restarts gRPC's event engine, whose poller waits on an epoll descriptor
the child handler has just closed: the child aborts with SIGABRT, "Epoll1Poller ... encountered
epoll_wait error: Bad file descriptor", before it reaches exec (a few children in a hundred, more
under load). So the child is a small Python launcher that applies the limit to itself and execs
the command: `subprocess` keeps to vfork(), and gRPC's handlers never run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# argv: LIMIT (bytes of address space, or "-") DIE_WITH_PARENT ("1"/"0") PARENT_PID COMMAND...
_LAUNCHER = """\
import os, sys
limit, die, parent = sys.argv[1:4]
if limit != "-":
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
if die == "1":
    try:
        import ctypes, signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != int(parent):
        sys.exit(1)  # the parent is gone already: nothing would stop the child
try:
    os.execvp(sys.argv[4], sys.argv[4:])
except OSError as exc:
    sys.stderr.write(f"cannot run {sys.argv[4]}: {exc.strerror or exc}\\n")
    sys.exit(127)
"""


def launched(command: Sequence[str], *, address_space: int | None = None, die_with_parent: bool = False) -> list[str]:
    """The argv that runs `command` with an address-space cap (RLIMIT_AS, inherited by its own
    children) and/or SIGTERM when the starting thread exits (Linux PR_SET_PDEATHSIG), set inside
    the child. Pass it to `subprocess` without `preexec_fn`; the child keeps the launcher's pid."""
    if not command:
        raise ValueError("no command to launch")
    limit = "-" if address_space is None else str(int(address_space))
    die = "1" if die_with_parent and sys.platform.startswith("linux") else "0"
    return [sys.executable, "-S", "-c", _LAUNCHER, limit, die, str(os.getpid()), *command]


__all__ = ["launched"]
