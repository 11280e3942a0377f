"""End a worker that waits forever for the others to start (issue 21, item 3).

TensorFlow's multi-worker start-up blocks inside C++ while holding Python's GIL, so no
thread or signal handler of the waiting process can run. The watchdog is therefore a
separate small process: unless told within ``timeout`` seconds that the cluster is up, it
prints one line naming the workers whose port does not answer and kills its parent.
Run as ``python -m msgan.training.watchdog PARENT_PID TIMEOUT SPEC_JSON``; no TensorFlow.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys


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


def main(argv: list[str]) -> int:
    parent, spec = int(argv[0]), json.loads(argv[1])
    ready, _, _ = select.select([sys.stdin], [], [], spec["timeout"])
    if ready:  # "up" (the cluster started) or end of file (the parent ended): nothing to do
        return 0
    sys.stderr.write(missing_line(spec) + "\n")
    sys.stderr.flush()
    try:
        os.kill(parent, signal.SIGKILL)  # it is stuck in C++: nothing gentler reaches it
    except ProcessLookupError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
