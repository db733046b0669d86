"""Cluster launch through submitit: array-job ``prepare`` and multi-node ``pretrain``.

``binge prepare ... --slurm --array N`` submits N array tasks, task i running the very
``binge prepare`` command with ``--shard i/N``, and one assemble task that depends on them all
(Slurm ``afterok``) and runs the command once without ``--shard`` (it finds every title done and
writes the manifest). A shard that skipped files is a *successful* task: its skipped files are
returned and printed, listed in ``shards/skipped-<i>-of-<N>.csv``, and the assemble step's exit
status 3 reports them; only a real failure (exit 1) fails the array task.

``binge pretrain ... --slurm --nodes N --gpus-per-node G`` submits one job of N × G tasks
(``--tasks-per-node`` overrides G, e.g. for CPU-only tests). Each task sets ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` from
submitit's view of the Slurm environment (:class:`submitit.JobEnvironment`) and then calls the
normal ``binge pretrain`` entry point, so the process group is built by
:func:`binge.distributed.init_distributed` exactly as under ``torchrun``.

``--executor local`` runs the same tasks as local processes through submitit's
``LocalExecutor`` (one node) and waits for them: the recipe tested on one machine
(tests/test_cluster.py). docs/cluster.md has the recipes and their ``sbatch`` equivalents.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
from pathlib import Path
from typing import Any, Optional

__all__ = [
    "ClusterError",
    "add_slurm_arguments",
    "allow_intermixed",
    "check_cluster_flags",
    "check_model_names",
    "split_overrides",
    "export_torch_env",
    "submit_prepare",
    "submit_pretrain",
]


class ClusterError(RuntimeError):
    """A cluster submission that cannot be made (bad flags, no submitit, no Slurm)."""


# ----------------------------------------------------------------------------- arguments
def add_slurm_arguments(parser: argparse.ArgumentParser, kind: str) -> None:
    """The ``--slurm`` flags of ``binge prepare`` (``kind="prepare"``) or ``binge pretrain``."""
    g = parser.add_argument_group("cluster (submitit; docs/cluster.md)")
    g.add_argument("--slurm", action="store_true",
                   help="submit this command to Slurm through submitit instead of running it here")
    if kind == "prepare":
        g.add_argument("--array", type=int, default=None, metavar="N",
                       help="with --slurm: N array tasks, one shard each, then an assemble task")
    else:
        g.add_argument("--nodes", type=int, default=1, metavar="N", help="with --slurm: nodes (default 1)")
        g.add_argument("--gpus-per-node", type=int, default=1, metavar="G",
                       help="with --slurm: GPUs per node; one task per GPU (default 1)")
        g.add_argument("--tasks-per-node", type=int, default=None, metavar="T",
                       help="with --slurm: tasks per node (default: --gpus-per-node, at least 1)")
        g.add_argument("--cpus-per-task", type=int, default=None, metavar="C",
                       help="with --slurm: CPU cores per task (data loader workers)")
    g.add_argument("--partition", default=None, help="with --slurm: Slurm partition")
    g.add_argument("--time", type=int, default=None, metavar="MINUTES",
                   help="with --slurm: time limit per task in minutes (default: 24 h)")
    g.add_argument("--slurm-folder", default=None, metavar="DIR",
                   help="with --slurm: submitit's logs and job files (default: OUT/slurm)")
    g.add_argument("--executor", choices=["slurm", "local"], default="slurm",
                   help="with --slurm: 'local' runs the same tasks as local processes through "
                        "submitit's LocalExecutor and waits for them (one node; for testing)")
    g.add_argument("--wait", action="store_true",
                   help="with --slurm: wait for the jobs and exit with their status")


def _executor(folder: Path, args: argparse.Namespace, name: str):
    """A submitit executor for ``args.executor`` with the common parameters set."""
    try:
        import submitit
    except ImportError as err:  # a declared dependency; only a broken install lacks it
        raise ClusterError("submitit is not installed: pip install submitit") from err
    folder.mkdir(parents=True, exist_ok=True)
    minutes = args.time or 24 * 60
    if args.executor == "local":
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=minutes)
        return ex
    if not _has_sbatch():
        raise ClusterError("Slurm's sbatch and srun are not on PATH: run this on a Slurm login "
                           "node, or test the recipe here with --executor local")
    ex = submitit.SlurmExecutor(folder=folder)
    params: dict[str, Any] = {"time": minutes, "job_name": name}
    if args.partition:
        params["partition"] = args.partition
    ex.update_parameters(**params)
    return ex


def _has_sbatch() -> bool:
    import shutil

    return shutil.which("sbatch") is not None and shutil.which("srun") is not None


def _plain_args(args: argparse.Namespace, **changes: Any) -> argparse.Namespace:
    """A copy of the parsed command without ``--slurm`` (and without the module object)."""
    out = copy.copy(args)
    out.slurm = False
    for key, default in _CLUSTER_ONLY.items():  # the task runs here: no cluster flags left
        if hasattr(out, key):
            setattr(out, key, default)
    out.submitted_argv = list(sys.argv)  # recorded in the task's run_info.json
    if hasattr(out, "_module"):
        del out._module
    for key, value in changes.items():
        setattr(out, key, value)
    return out


# ----------------------------------------------------------------------------- prepare
def prepare_shard_task(args: argparse.Namespace) -> dict[str, Any]:
    """Run ``binge prepare`` for one shard inside an array task.

    Returns ``{"shard", "exit_code", "skipped"}``; exit 3 (some files skipped) is a result, not a
    failure. Raises :class:`RuntimeError` on exit 1/2, which fails the array task."""
    from binge.data import cli as prepare_cli

    i, n = args.shard
    sys.argv = list(args.submitted_argv)
    code = int(prepare_cli.run(args) or 0)
    skipped = _shard_skipped(Path(args.out), i, n)
    if code not in (0, 3):
        raise RuntimeError(f"binge prepare --shard {i}/{n} failed with exit status {code}")
    return {"shard": f"{i}/{n}", "exit_code": code, "skipped": skipped}


def _shard_skipped(out: Path, i: int, n: int) -> list[list[str]]:
    import csv

    path = out / "shards" / f"skipped-{i}-of-{n}.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return [[r.get("source_path", ""), r.get("reason", "")] for r in csv.DictReader(fh)]


def prepare_assemble_task(args: argparse.Namespace) -> int:
    """The assemble step: ``binge prepare`` without ``--shard`` (every title is done)."""
    from binge.data import cli as prepare_cli

    sys.argv = list(args.submitted_argv)
    code = int(prepare_cli.run(args) or 0)
    if code not in (0, 3):
        raise RuntimeError(f"binge prepare (assemble) failed with exit status {code}")
    return code


def submit_prepare(args: argparse.Namespace) -> int:
    """Submit ``binge prepare`` as ``--array`` shard tasks plus an assemble task; see module doc."""
    n = args.array
    if n is None or n < 1:
        raise ClusterError("--slurm needs --array N (N >= 1 shards)")
    if args.shard != (0, 1):
        raise ClusterError("--slurm --array N assigns the shards itself: drop --shard")
    folder = Path(args.slurm_folder or Path(args.out) / "slurm")
    ex = _executor(folder, args, "binge-prepare")
    shard_args = [_plain_args(args, shard=(i, n), quiet=True) for i in range(n)]
    if args.executor == "slurm":
        ex.update_parameters(array_parallelism=n)
    jobs = ex.map_array(prepare_shard_task, shard_args)
    ids = [j.job_id for j in jobs]
    print(f"binge prepare: submitted {n} shard task(s) {ids}; logs in {folder}")
    if args.executor == "local":  # no dependencies locally: wait, then assemble
        return _finish_prepare_locally(jobs, ex, args)
    array_id = ids[0].split("_")[0]
    ex.update_parameters(additional_parameters={
        "dependency": f"afterok:{array_id}", "kill-on-invalid-dep": "yes"})
    job = ex.submit(prepare_assemble_task, _plain_args(args))
    print(f"binge prepare: submitted the assemble task {job.job_id} (after all shards succeed)")
    if not args.wait:
        return 0
    if not _report_shards(jobs):
        return 1
    code = _result(job)
    return 1 if code is None else int(code)


def _report_shards(jobs) -> bool:
    """Wait for the shard tasks and print each one's skipped files; False if any task failed."""
    ok = True
    for job in jobs:
        res = _result(job)
        if res is None:
            ok = False
            continue
        for path, reason in res["skipped"]:
            print(f"  shard {res['shard']} skipped {path}: {reason}")
    return ok


def _finish_prepare_locally(jobs, ex, args: argparse.Namespace) -> int:
    if not _report_shards(jobs):
        return 1
    job = ex.submit(prepare_assemble_task, _plain_args(args))
    code = _result(job)
    return 1 if code is None else int(code)


# ----------------------------------------------------------------------------- pretrain
def export_torch_env(env=None) -> dict[str, str]:
    """Set torchrun's variables from the submitit job environment; returns what was set.

    ``MASTER_ADDR`` is the first host of the job, ``MASTER_PORT`` a port in [20000, 60000)
    drawn from the job id (the same on every task) unless ``MASTER_PORT`` is already set.
    """
    import submitit

    env = env or submitit.JobEnvironment()
    port = os.environ.get("MASTER_PORT") or str(random.Random(str(env.job_id)).randrange(20000, 60000))
    values = {
        "RANK": str(env.global_rank),
        "LOCAL_RANK": str(env.local_rank),
        "WORLD_SIZE": str(env.num_tasks),
        "LOCAL_WORLD_SIZE": str(max(env.num_tasks // max(env.num_nodes, 1), 1)),
        "MASTER_ADDR": str(env.hostnames[0]),
        "MASTER_PORT": port,
    }
    os.environ.update(values)
    return values


def pretrain_task(args: argparse.Namespace) -> int:
    """One task of a multi-node pretraining job: torchrun's environment, then ``binge pretrain``."""
    from binge.train import cli as pretrain_cli

    export_torch_env()
    sys.argv = list(args.submitted_argv)
    code = int(pretrain_cli.run(args) or 0)
    if code != 0:
        raise RuntimeError(f"binge pretrain (rank {os.environ['RANK']}) exited with status {code}")
    return code


def submit_pretrain(args: argparse.Namespace, out_dir: str) -> int:
    """Submit ``binge pretrain`` as one job of nodes × tasks-per-node tasks (module doc)."""
    tasks = args.tasks_per_node if args.tasks_per_node is not None else max(args.gpus_per_node, 1)
    if args.nodes < 1 or tasks < 1 or args.gpus_per_node < 0:
        raise ClusterError("--nodes and --tasks-per-node must be >= 1, --gpus-per-node >= 0")
    if args.executor == "local" and args.nodes != 1:
        raise ClusterError("--executor local runs on one node: use --nodes 1")
    folder = Path(args.slurm_folder or Path(out_dir) / "slurm")
    ex = _executor(folder, args, "binge-pretrain")
    if args.executor == "slurm":  # SlurmExecutor's names (sbatch's)
        params: dict[str, Any] = {"nodes": args.nodes, "ntasks_per_node": tasks,
                                  "gpus_per_node": args.gpus_per_node}
        if args.cpus_per_task:
            params["cpus_per_task"] = args.cpus_per_task
    else:
        params = {"tasks_per_node": tasks, "gpus_per_node": args.gpus_per_node}
    ex.update_parameters(**params)
    job = ex.submit(pretrain_task, _plain_args(args))
    print(f"binge pretrain: submitted job {job.job_id} ({args.nodes} node(s) × {tasks} task(s)); "
          f"logs in {folder}")
    return _wait([job]) if (args.wait or args.executor == "local") else 0


# ----------------------------------------------------------------------------- waiting
def _result(job) -> Optional[Any]:
    """The job's result (all tasks); None after printing the failure of any task."""
    from submitit.core.utils import UncompletedJobError

    try:
        res = job.results()
    except UncompletedJobError as err:  # a task raised, was killed or timed out
        lines = [ln for ln in str(err).splitlines() if ln.strip()]
        print(f"binge: job {job.job_id} failed: {lines[-1] if lines else err}\n"
              f"  its log: {job.paths.stderr}", file=sys.stderr)
        return None
    return res[0]


def _wait(jobs) -> int:
    """Wait for every job; 0 if all succeeded, 1 otherwise (their logs are named)."""
    return 0 if all(_result(job) is not None for job in jobs) else 1


# ----------------------------------------------------------------------------- overrides
def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """Split positional arguments into (sources, ``section.key=value`` overrides).

    An item is an override when it reads ``name.name[.name]=value``, or is a malformed one
    (``=3``, or a config section's key without ``=`` such as ``sampling.k``), and no such file
    exists, so ``binge prepare`` takes overrides the way every other binge command does and a
    malformed override gets the override's error instead of "source does not exist"."""
    import dataclasses
    import re

    from binge.config import Config

    sections = "|".join(f.name for f in dataclasses.fields(Config))
    pattern = re.compile(rf"^([A-Za-z_]\w*(\.[A-Za-z_]\w*)+=|=|({sections})\.\w+$)")
    sources, overrides = [], []
    for item in items:
        (overrides if pattern.match(item) and not Path(item).exists() else sources).append(item)
    return sources, overrides


def check_model_names(*names: str) -> None:
    """Raise :class:`binge.config.ConfigError` naming the choices when a model name is unknown."""
    from binge.config import ConfigError
    from binge.models import list_models

    known = list_models()
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown model {name!r}: registered models are {known} "
                              "(set model.video / model.audio, or --random-init, to one of them)")


def allow_intermixed(parser: argparse.ArgumentParser) -> None:
    """Let ``parser`` (a subcommand's) take positionals between options, as
    ``binge prepare SRC --out C data.short_side=128`` or ``binge pretrain --config C a.b=1
    --restart c.d=2`` do: argparse's own ``parse_known_intermixed_args`` instead of
    ``parse_known_args`` (stock argparse stops a ``nargs="*"`` positional at the first option and
    rejects what follows). Parsers with nested subcommands keep the stock parsing."""
    import types

    if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions) or any(
            not a.option_strings for g in parser._mutually_exclusive_groups for a in g._group_actions):
        return  # argparse cannot intermix these: keep its stock parsing

    def parse_known_args(self, args=None, namespace=None):
        if getattr(self, "_binge_intermixing", False):  # argparse's own two passes
            return argparse.ArgumentParser.parse_known_args(self, args, namespace)
        self._binge_intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._binge_intermixing = False

    parser.parse_known_args = types.MethodType(parse_known_args, parser)  # type: ignore[method-assign]


_CLUSTER_ONLY = {"array": None, "nodes": 1, "gpus_per_node": 1, "tasks_per_node": None, "cpus_per_task": None,
                 "partition": None, "time": None, "slurm_folder": None, "executor": "slurm", "wait": False}


def check_cluster_flags(args: argparse.Namespace) -> None:
    """Raise :class:`ClusterError` when a cluster-only flag is given without ``--slurm``
    (it would otherwise be ignored silently and the work run here)."""
    if getattr(args, "slurm", False):
        return
    given = sorted(f"--{k.replace('_', '-')}" for k, default in _CLUSTER_ONLY.items()
                   if hasattr(args, k) and getattr(args, k) != default)
    if given:
        raise ClusterError(f"{', '.join(given)} only apply with --slurm (add --slurm to submit the "
                           "command to the cluster, or drop them to run it here)")
