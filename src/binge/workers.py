"""Worker processes that never outlive the command that started them.

:func:`die_with_parent` is the ``initializer`` of every process pool binge starts
(``binge prepare --workers N``, ``binge world --workers N``): a pool worker ends itself as soon
as its parent is gone, ``kill -9`` included, so no idle worker (nor the resource tracker the
workers keep open) is left behind (issue 15, tests/faults/test_processes.py).
"""

from __future__ import annotations

import multiprocessing
import os
import threading

__all__ = ["die_with_parent"]


def die_with_parent() -> None:
    """In a pool worker: end this process (exit 1) once its parent has died. A daemon thread
    waits on the parent's sentinel (a pipe that reads EOF once the parent is gone), which also
    holds when the parent died before this worker got here (a ppid poll would miss that). A
    no-op in a process that has no multiprocessing parent."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="binge-parent-watch", daemon=True).start()
