"""Worker processes: pools that never outlive their command, and commands run N at a time.

:func:`die_with_parent` is the ``initializer`` of every process pool binge starts
(``binge prepare --workers N``, ``binge world --workers N``): a pool worker ends itself as soon
as its parent is gone, ``kill -9`` included, so no idle worker (nor the resource tracker the
workers keep open) is left behind (issue 15, tests/faults/test_processes.py).

:func:`run_processes` runs command lines as child processes, N at a time, one log file each,
with "start after" constraints: ``binge demo --jobs N`` and the reproduction study
(``benchmarks/reproduction/run_study.py --jobs N``) schedule their runs with it.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

__all__ = ["Job", "die_with_parent", "run_processes"]


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


@dataclass
class Job:
    """One command line to run as a child process.

    ``key`` names it (unique among the jobs of one call); ``argv`` is the full command line;
    its stdout and stderr go to ``log`` (created or truncated); it starts only once every job
    whose key is in ``after`` has ended (a key not among the jobs is no constraint)."""

    key: str
    argv: Sequence[str]
    log: Path
    after: Sequence[str] = field(default_factory=tuple)


def run_processes(jobs: Sequence[Job], parallel: int,
                  on_start: Optional[Callable[[Job], None]] = None,
                  on_done: Optional[Callable[[Job, float, float], None]] = None,
                  env: Optional[Mapping[str, str]] = None, poll_s: float = 0.5) -> list[str]:
    """Run ``jobs`` in their order, at most ``parallel`` at once (at least 1).

    ``on_start(job)`` runs as a job starts; ``on_done(job, seconds, cpu_seconds)`` as it ends
    with exit status 0 (wall seconds; user + system CPU seconds of the child and its waited-for
    descendants). After the first failure no further job starts; the running ones are waited
    for. Returns one line per failed job (its exit status and log), empty when all succeeded;
    a job that never started because of a failure is not in the list.
    """
    pending, running = list(jobs), []
    failed: list[str] = []
    while (pending and not failed) or running:
        busy = {j.key for j in pending} | {r[0].key for r in running}
        for job in list(pending):
            if len(running) >= max(1, parallel) or failed:
                break
            if busy & set(job.after):
                continue
            pending.remove(job)
            running.append(_start(job, env, on_start))
        time.sleep(poll_s)
        for item in list(running):
            job, proc, start, fh = item
            ended = _reap(proc)
            if ended is None:
                continue
            running.remove(item)
            fh.close()
            code, cpu = ended
            if code != 0:
                failed.append(f"{job.key} failed with exit status {code} (log: {job.log})")
            elif on_done is not None:
                on_done(job, round(time.perf_counter() - start, 1), cpu)
    return failed


def _start(job: Job, env: Optional[Mapping[str, str]],
           on_start: Optional[Callable[[Job], None]]) -> tuple:
    if on_start is not None:
        on_start(job)
    Path(job.log).parent.mkdir(parents=True, exist_ok=True)
    fh = open(job.log, "w")
    proc = subprocess.Popen(list(job.argv), stdout=fh, stderr=subprocess.STDOUT,
                            env=None if env is None else dict(env))
    return job, proc, time.perf_counter(), fh


def _reap(proc: subprocess.Popen) -> Optional[tuple[int, float]]:
    """(exit status, CPU seconds user + system) of an ended child, None while it runs."""
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, round(usage.ru_utime + usage.ru_stime, 1)
