"""Cluster launch through submitit's LOCAL executor: real processes, the real code path.

- ``binge prepare --slurm --array 2 --executor local`` (2 shard tasks + the assemble task) gives
  the same corpus as one ``binge prepare`` process: the same manifest rows, byte-identical
  log-mel and meta.json files, and video byte-identical or, where libx264 ran other SIMD code
  (CI once saw one title differ so), the same frames (tests/corpus_compare.py); a skipped file is
  reported and is not a failed task;
- ``binge pretrain --slurm --executor local --tasks-per-node 2`` (2 gloo ranks whose torchrun
  variables come from submitit's job environment) gives the same per-step losses as one
  process with the same global batch (float64, as in tests/train/test_pretrain.py);
- :func:`binge.cluster.export_torch_env` maps a job environment to torchrun's variables.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_error
from corpus_compare import explain, mismatches

pytest.importorskip("submitit")

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "tiny.yaml"


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def _binge(args: list[str], log: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    with open(log, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "binge", *args], stdout=fh, stderr=subprocess.STDOUT,
                              env=_env(), cwd=REPO, timeout=timeout)
    return proc


def _corpus_files(corpus: Path) -> dict[str, str]:
    """sha256 of every file of every title folder (media, log-mel, meta.json)."""
    out = {}
    for path in sorted((corpus / "titles").rglob("*")):
        if path.is_file():
            out[str(path.relative_to(corpus))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _explain(out: Path, ref: Path, log: str) -> str:
    """What differs (decoded, for a failure message), then the binge and shard logs' tails."""
    logs = sorted((out / "slurm").glob("*.err")) + sorted((out / "slurm").glob("*.out"))
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in logs)
    return explain(out, ref, _corpus_files) + f"\n--- binge log\n{log[-1500:]}\n{tails}"


def _manifest(corpus: Path) -> list[dict[str, str]]:
    with open(corpus / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_two_shard_array_prepare_equals_one_process(tiny_world, tiny_corpus, tmp_path):
    """2 array tasks + assemble through submitit's local executor == the single-process corpus."""
    broken = tmp_path / "extra" / "broken.mp4"
    broken.parent.mkdir()
    broken.write_bytes(b"not a video")
    out = tmp_path / "corpus"
    proc = _binge(["prepare", str(tiny_world / "titles"), str(broken), "--metadata",
                   str(tiny_world / "metadata.csv"), "--config", str(TINY), "--out", str(out),
                   "--slurm", "--array", "2", "--executor", "local"], tmp_path / "log.txt")
    log = (tmp_path / "log.txt").read_text()
    # the broken file is skipped: reported by its shard, exit 3 from the assemble step; no task failed
    assert proc.returncode == 3, log[-3000:]
    assert "skipped" in log and "broken.mp4" in log and "failed" not in log, log[-3000:]
    assert _manifest(out) == _manifest(tiny_corpus)
    assert not mismatches(out, tiny_corpus, _corpus_files), _explain(out, tiny_corpus, log)
    for i in range(2):
        info = json.loads((out / "shards" / f"run_info-{i}-of-2.json").read_text())
        assert info["status"] == "ok" and "--slurm" in info["argv"]
    assert json.loads((out / "run_info.json").read_text())["status"] == "ok"
    with open(out / "skipped.csv", newline="") as fh:
        assert [Path(r["source_path"]).name for r in csv.DictReader(fh)] == ["broken.mp4"]


def _losses(out: Path) -> list[float]:
    from binge.train.metrics import read_metrics

    return [r["loss"] for r in read_metrics(out / "metrics.jsonl")]


PRETRAIN = ["sampling.batch_size=8", "sampling.steps_per_epoch=3", "optim.epochs=1",
            "augment.crop_size=32", "train.log_every_steps=1", "train.checkpoint_every_steps=1",
            "train.keep_checkpoints=0", "data.num_workers=0", "model.sync_batchnorm=true",
            "train.precision=fp64", "train.device=cpu"]


@pytest.mark.slow
@pytest.mark.distributed
def test_two_task_pretrain_equals_one_process(tiny_corpus, tmp_path):
    """2 tasks (gloo) launched by submitit, rendezvous from its environment == 1 process."""
    one, two = tmp_path / "one", tmp_path / "two"
    common = ["pretrain", "--config", str(TINY), f"data.corpus={tiny_corpus}"]
    assert _binge([*common, f"train.out_dir={one}", *PRETRAIN], tmp_path / "one.txt").returncode == 0, \
        (tmp_path / "one.txt").read_text()[-3000:]
    proc = _binge(["pretrain", "--slurm", "--executor", "local", "--tasks-per-node", "2",
                   "--gpus-per-node", "0", "--config", str(TINY), f"data.corpus={tiny_corpus}",
                   f"train.out_dir={two}", *PRETRAIN], tmp_path / "two.txt")
    assert proc.returncode == 0, (tmp_path / "two.txt").read_text()[-3000:]
    la, lb = _losses(one), _losses(two)
    assert len(la) == len(lb) == 3 and la[2] != la[0]
    for a, b in zip(la, lb):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(a)), (la, lb)
    info = json.loads((two / "run_info.json").read_text())
    assert info["world_size"] == 2 and info["status"] == "ok" and "--slurm" in info["argv"]
    assert json.loads((one / "run_info.json").read_text())["world_size"] == 1


class _FakeJobEnv:
    job_id, global_rank, local_rank, num_tasks, num_nodes = "4242", 5, 1, 8, 2
    hostnames = ["node-a", "node-b"]


def test_export_torch_env_maps_the_job_environment(monkeypatch):
    from binge.cluster import export_torch_env

    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.setenv(key, "")  # so that teardown restores the environment as it was
        monkeypatch.delenv(key)
    got = export_torch_env(_FakeJobEnv())
    assert {k: got[k] for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR")} == {
        "RANK": "5", "LOCAL_RANK": "1", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4", "MASTER_ADDR": "node-a"}
    assert 20000 <= int(got["MASTER_PORT"]) < 60000
    assert export_torch_env(_FakeJobEnv())["MASTER_PORT"] == got["MASTER_PORT"]  # same on every task
    assert os.environ["RANK"] == "5"


def test_slurm_without_sbatch_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    err = cli_error(["prepare", str(tmp_path), "--out", str(tmp_path / "c"), "--slurm", "--array", "2"], capsys)
    assert err.startswith("binge prepare: Slurm's sbatch and srun are not on PATH") and "\n" not in err, err
    err = cli_error(["pretrain", "--config", str(TINY), "--slurm", f"train.out_dir={tmp_path / 'r'}"], capsys)
    assert err.startswith("binge pretrain: Slurm's sbatch and srun are not on PATH") and "\n" not in err, err


FAKE_SBATCH = """#!/bin/bash
# records the batch script submitit wrote, answers like sbatch
n=$(ls {log} | wc -l); cp "${{@: -1}}" {log}/job$((n + 100)).sh
echo "Submitted batch job $((n + 100))"
"""


def _fake_sbatch(tmp_path: Path, monkeypatch) -> Path:
    log = tmp_path / "submitted"
    log.mkdir()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sbatch").write_text(FAKE_SBATCH.format(log=log))
    (bindir / "sbatch").chmod(0o755)
    (bindir / "srun").write_text("#!/bin/sh\nexit 1\n")  # submitit only checks that it exists
    (bindir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return log


def test_slurm_scripts_submitit_writes_for_prepare(tmp_path, monkeypatch, capsys):
    """The real SlurmExecutor path against a recording ``sbatch``: an array of N shard tasks,
    then an assemble job that depends on the array (afterok) and is cancelled if a shard fails."""
    from binge.cli import main

    log = _fake_sbatch(tmp_path, monkeypatch)
    src = tmp_path / "src"
    src.mkdir()
    assert main(["prepare", str(src), "--out", str(tmp_path / "c"), "--slurm", "--array", "3",
                 "--partition", "cpu", "--time", "90", "data.hop_length=256"]) == 0
    array, assemble = (log / "job100.sh").read_text(), (log / "job101.sh").read_text()
    assert "#SBATCH --array=0-2%3" in array and "#SBATCH --partition=cpu" in array
    assert "#SBATCH --time=90" in array
    assert "#SBATCH --dependency=afterok:100" in assemble and "#SBATCH --kill-on-invalid-dep=yes" in assemble
    assert "--array" not in assemble
    out = capsys.readouterr().out
    assert "['100_0', '100_1', '100_2']" in out and "assemble task 101" in out


def test_slurm_script_submitit_writes_for_pretrain(tmp_path, monkeypatch):
    from binge.cli import main

    log = _fake_sbatch(tmp_path, monkeypatch)
    assert main(["pretrain", "--config", str(TINY), f"train.out_dir={tmp_path / 'run'}", "--slurm",
                 "--nodes", "4", "--gpus-per-node", "8", "--cpus-per-task", "10", "--partition", "gpu"]) == 0
    script = (log / "job100.sh").read_text()
    for line in ("--nodes=4", "--ntasks-per-node=8", "--gpus-per-node=8", "--cpus-per-task=10",
                 "--partition=gpu"):
        assert f"#SBATCH {line}" in script, line
    assert "srun" in script and (tmp_path / "run" / "slurm").is_dir()


def test_cluster_flags_without_slurm_are_refused(tmp_path, capsys):
    err = cli_error(["prepare", str(tmp_path), "--out", str(tmp_path / "c"), "--array", "4"], capsys)
    assert err.startswith("binge prepare: --array only apply with --slurm"), err
    err = cli_error(["pretrain", "--config", str(TINY), "--nodes", "2", "--gpus-per-node", "8"], capsys)
    assert err.startswith("binge pretrain: --gpus-per-node, --nodes only apply with --slurm"), err
