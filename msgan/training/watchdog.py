"""End a worker that waits forever for the others to start (issue 21, item 3).

TensorFlow's multi-worker start-up blocks inside C++ while holding Python's GIL, so no
thread or signal handler of the waiting process can run. The watchdog is therefore a
separate small process: unless told within ``timeout`` seconds that the cluster is up, it
prints one line naming the workers whose port does not answer and kills its parent.

SIGTERM (a scheduler cancelling the job) or Ctrl-C during that wait cannot reach the
parent's Python handler either, and TensorFlow replaces the SIGTERM handler with one that
ignores it. So a worker of a cluster blocks both signals before it imports TensorFlow
(:func:`hold_stop_signals`; every thread it starts inherits that), a signal sent meanwhile
stays pending, and the watchdog, which reads the parent's pending signals in ``/proc``,
ends it within a second with one line. Once the cluster is up the signals are unblocked.
Run as ``python -m msgan.training.watchdog PARENT_PID SPEC_JSON``; no TensorFlow.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time


def reachable(address: str, timeout: float = 1.0) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False
    return True


def missing_line(spec: dict) -> str:
    """The error line: which workers of ``spec`` (``{"workers": [[job, i, addr]], "me": [job, i]}``) do not answer."""
    me = tuple(spec["me"])
    missing = [f"{job} {i} ({address})" for job, i, address in spec["workers"]
               if (job, i) != me and not reachable(address)]
    who = ", ".join(missing) if missing else "a worker (every port answers: still starting?)"
    return (f"error: TF_CONFIG: {who} did not join within {spec['timeout']:g} s "
            "(--connect-timeout); start every worker with the same TF_CONFIG cluster")


#: signals that end a worker waiting for the others, with their names for the error line
STOPPING = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C (SIGINT)"}
POLL_SECONDS = 0.25


def hold_stop_signals() -> None:
    """Block :data:`STOPPING` in this thread and in every thread started after (numpy's and
    TensorFlow's): call it first thing in a worker of a cluster, before any other thread
    exists; :class:`StartupWatchdog` sees a signal sent meanwhile, and
    :meth:`StartupWatchdog.done` unblocks them."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(STOPPING))


class StartupWatchdog:
    """The parent's side: start the watchdog process, then :meth:`done` once the cluster is up."""

    def __init__(self, workers: list, me: tuple, timeout: float):
        spec = json.dumps({"workers": workers, "me": list(me), "timeout": timeout})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "msgan.training.watchdog", str(os.getpid()), spec],
            stdin=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})

    def done(self) -> None:
        self.process.stdin.write(b"up\n")
        self.process.stdin.close()
        self.process.wait()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(STOPPING))


def pending_signals(pid: int) -> set[int]:
    """Signals sent to process ``pid`` and not yet delivered (Linux ``/proc``; else none)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return set()
    bits = int(fields.get("ShdPnd", "0"), 16) | int(fields.get("SigPnd", "0"), 16)
    return {number for number in range(1, 65) if bits >> (number - 1) & 1}


def _kill(parent: int, line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    try:
        os.kill(parent, signal.SIGKILL)  # it is stuck in C++: nothing gentler reaches it
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    parent, spec = int(argv[0]), json.loads(argv[1])
    for number in STOPPING:  # a signal to the whole job reaches this process too: the parent's counts
        signal.signal(number, signal.SIG_IGN)
    deadline = time.monotonic() + spec["timeout"]
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sys.stdin], [], [], min(left, POLL_SECONDS))
        if ready:  # "up" (the cluster started) or end of file (the parent ended): nothing to do
            return 0
        stopping = [name for number, name in STOPPING.items() if number in pending_signals(parent)]
        if stopping:
            _kill(parent, f"error: stopped by {stopping[0]} while waiting for the other workers "
                          "of TF_CONFIG to start; nothing was written")
            return 0
    _kill(parent, missing_line(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
