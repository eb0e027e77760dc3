"""Operator processes forked from one pre-imported parent, for the crash loops.

A crash loop starts the operator hundreds of times, and each `python -m nidc.cli operator run`
spends most of its life (about 3 s of 4 on a loaded two-core machine) importing kopf, the
Kubernetes client and the reconcilers before it reaches a crash point. The server here imports
all of that once, with the operator's environment, and forks one child per start: the child runs
the entry point `nidc operator run` ends in (`python -m operators`: its `main([])`) in a
process of its own, with its own kopf start-up, initial listing, handlers and state, and dies
by SIGKILL at its crash point exactly as a freshly exec'd one does. Nothing survives a child
but what it wrote to the cluster, the object store and the file system, which is what the
crash tests are about.

The parent never starts a thread, an event loop or a connection, so forking it is safe. It
speaks one line per message on stdin/stdout: `{"env": {...}}` in, `pid <n>` and later
`exit <code>` out (the code as subprocess reports it: -9 for SIGKILL).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path


def serve(log: Path) -> int:
    """The server: import the operator once, then fork a child per request on stdin."""
    # Everything `nidc operator run` imports; the Kubernetes client reads $KUBECONFIG here.
    import kopf  # noqa: F401

    from operators.__main__ import main as operator_main

    # A thread in the parent would be a lock held forever in every child.
    assert threading.active_count() == 1, threading.enumerate()
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        with log.open("a") as out:
            out.write(f"=== forked operator start {request['env']}\n")
        pid = os.fork()
        if pid == 0:
            _child(log, request["env"], operator_main)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
    return 0


def _child(log: Path, env: dict[str, str], entry: Callable[[list[str]], int]) -> None:
    """In the forked child: the operator's own stdio, environment and entry point; never
    returns."""
    code = 1
    try:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.environ.update(env)
        code = entry([])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # the parent must never run on in a child
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class OperatorForkServer:
    """The test's side: start the server once, then start (and await) one operator at a time.

    Same `start` / `wait_exit` / `stop` as tests.operator_process.OperatorProcess, so a crash
    loop drives either.
    """

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.server = subprocess.Popen(
            [sys.executable, "-m", "tests.operator_forkserver", str(log)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
        )
        self.child: int | None = None
        if self._line(120) != "ready":
            raise RuntimeError(f"operator fork server did not start; see {log}")

    def _line(self, timeout: float) -> str:
        assert self.server.stdout is not None
        ready, _, _ = select.select([self.server.stdout], [], [], timeout)
        if not ready:
            raise subprocess.TimeoutExpired("operator", timeout)
        line = self.server.stdout.readline()
        if not line:
            raise RuntimeError(f"operator fork server ended; see {self.log}")
        return line.strip()

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        """Fork one operator with `extra_env` on top of the server's environment."""
        assert self.child is None, "an operator is still running"
        assert self.server.stdin is not None
        self.server.stdin.write(json.dumps({"env": extra_env or {}}) + "\n")
        self.server.stdin.flush()
        kind, pid = self._line(30).split()
        assert kind == "pid", kind
        self.child = int(pid)

    def wait_exit(self, timeout: float) -> int:
        """Wait for the operator to end by itself; its return code (-9 for SIGKILL)."""
        assert self.child is not None
        kind, code = self._line(timeout).split()
        assert kind == "exit", kind
        self.child = None
        return int(code)

    def stop(self) -> None:
        """Kill a running operator (SIGKILL) and end the server."""
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):  # it may just have died
                os.kill(self.child, signal.SIGKILL)
            self.wait_exit(30)
        assert self.server.stdin is not None
        self.server.stdin.close()
        self.server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1])))
