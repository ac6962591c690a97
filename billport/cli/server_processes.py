"""`billport serve --workers N`: N server processes sharing one listening socket.

The parent binds the socket, opens the store once (migrations, the demo seed, the banner)
and closes it again, then forks the server processes: each opens its own store and runs
uvicorn on the inherited socket, the kernel handing each new connection to one of them.
Each runs the in-process export worker when `--worker` is on; a job's lease
(billport.jobs.lease) gives every export to exactly one worker whichever process it runs
in, so N processes never run two workers on one export.

The parent only supervises: SIGTERM or SIGINT stops every child gracefully (uvicorn's own
shutdown), and a child that dies while the server is meant to run is replaced, at most
``MAX_RESTARTS`` times in ``RESTART_WINDOW`` seconds (a child that cannot start at all
would otherwise be restarted forever).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


class ServerProcesses:
    """Forks ``count`` children running ``serve_one`` and keeps them running until stopped."""

    def __init__(self, count: int, serve_one: Callable[[], None], echo: Callable[[str], None]):
        self.count, self.serve_one, self.echo = count, serve_one, echo
        self.children: dict[int, int] = {}  # pid -> slot
        self.stopping = False
        self._restarts: list[float] = []

    def run(self) -> int:
        """Start the children, supervise them; the exit code for the parent."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.count):
                self._start(slot)
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child: uvicorn installs its own signal handlers
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            code = 0
            try:
                self.serve_one()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = slot

    def _supervise(self) -> int:
        code = 0
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            slot = self.children.pop(pid, None)
            if slot is None:
                continue
            exit_code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                continue
            if self._may_restart():
                self.echo(f"server process {pid} exited ({exit_code}); starting another")
                self._start(slot)
            else:
                self.echo(
                    f"server process {pid} exited ({exit_code}); {MAX_RESTARTS} restarts in "
                    f"{RESTART_WINDOW:.0f} s, stopping"
                )
                code = 1
                self._stop(signal.SIGTERM, None)
        return code

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW]
        self._restarts.append(now)
        return len(self._restarts) <= MAX_RESTARTS

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):  # it exited already
                os.kill(pid, signal.SIGTERM)
