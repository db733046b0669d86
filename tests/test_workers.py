"""binge.workers.run_processes: N at a time, "after" constraints, logs, failures, CPU seconds.

The children are tiny Python programs that record when they start and end (time.monotonic is
system-wide on Linux), so the schedule is checked against what the processes themselves saw.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from binge.workers import Job, run_processes

CHILD = """
import json, sys, time
out, key, seconds, code = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
start = time.monotonic()
print("hello from", key, flush=True)
if seconds < 0:  # burn -seconds of this process's own CPU time
    while time.process_time() < -seconds:
        pass
else:
    time.sleep(seconds)
with open(f"{out}/{key}.json", "w") as fh:
    json.dump({"start": start, "end": time.monotonic()}, fh)
sys.exit(code)
"""


def _job(tmp: Path, key: str, seconds: float = 0.3, code: int = 0, after=()) -> Job:
    return Job(key, [sys.executable, "-c", CHILD, str(tmp), key, str(seconds), str(code)],
               tmp / "logs" / f"{key}.log", after)


def _times(tmp: Path, key: str) -> dict:
    return json.loads((tmp / f"{key}.json").read_text())


def test_never_more_than_parallel_at_once_and_every_job_logged(tmp_path):
    jobs = [_job(tmp_path, f"j{i}") for i in range(5)]
    done = []
    failed = run_processes(jobs, 2, on_done=lambda j, s, c: done.append(j.key), poll_s=0.05)
    assert failed == [] and sorted(done) == [f"j{i}" for i in range(5)]
    spans = [_times(tmp_path, f"j{i}") for i in range(5)]
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    assert peak == 2  # 5 jobs of 0.3 s, 2 slots: two overlap, never three
    for i in range(5):
        assert (tmp_path / "logs" / f"j{i}.log").read_text().strip() == f"hello from j{i}"


def test_a_job_starts_after_the_jobs_it_waits_for(tmp_path):
    jobs = [_job(tmp_path, "cma", after=["cross"]), _job(tmp_path, "cross", 0.5),
            _job(tmp_path, "other", 0.1)]
    started = []
    assert run_processes(jobs, 2, on_start=lambda j: started.append(j.key), poll_s=0.05) == []
    assert started[:2] == ["cross", "other"]  # "cma" is first in the list but waits
    assert _times(tmp_path, "cma")["start"] >= _times(tmp_path, "cross")["end"]


def test_a_failure_stops_new_starts_waits_for_running_and_names_the_log(tmp_path):
    jobs = [_job(tmp_path, "bad", 0.1, code=3), _job(tmp_path, "slow", 0.6),
            _job(tmp_path, "never")]
    done = []
    failed = run_processes(jobs, 2, on_done=lambda j, s, c: done.append(j.key), poll_s=0.05)
    assert failed == [f"bad failed with exit status 3 (log: {tmp_path / 'logs' / 'bad.log'})"]
    assert done == ["slow"]  # the running job was waited for and succeeded
    assert not (tmp_path / "never.json").exists()


def test_cpu_seconds_are_the_childs_own(tmp_path):
    seen = {}
    run_processes([_job(tmp_path, "busy", -0.6), _job(tmp_path, "idle", 0.6)], 2,
                  on_done=lambda j, s, c: seen.update({j.key: (s, c)}), poll_s=0.05)
    assert seen["busy"][1] >= 0.55  # spun until its own CPU time was 0.6 s (rounded to 0.1)
    assert seen["idle"][1] < 0.4  # slept: interpreter start-up only
    assert seen["idle"][0] >= 0.6
