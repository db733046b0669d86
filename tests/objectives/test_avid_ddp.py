"""DDP equivalence on CPU for the memory-bank objectives: 2 gloo ranks with half a batch
each give the same losses, Z̄, memory banks (and CMA positive sets) as 1 process with the
whole batch (issue 7), also with the bank filled by a warm-start pass (``bank_init="encode"``)."""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from binge.distributed import cleanup_distributed
from binge.objectives.avid import AvidObjective
from binge.objectives.cma import CmaObjective

from test_avid_reference import TinyAV, random_batch

TITLES = [9, 14, 7, 10]
B, STEPS = 8, 3


def _make(kind: str):
    torch.manual_seed(0)
    model = TinyAV().double()
    kw = dict(dim=8, hidden=12, num_negatives=16, temperature=0.07, momentum=0.5, seed=3)
    if kind == "cma":
        obj = CmaObjective(16, 16, TITLES, num_positives=3, chunk_size=16, **kw)
    elif kind == "self_encode":
        obj = AvidObjective(16, 16, TITLES, variant="self", bank_init="encode", **kw)
    else:
        obj = AvidObjective(16, 16, TITLES, variant=kind, **kw)
    return model, obj.double()


def _run(kind: str, rank: int, world: int) -> dict:
    model, obj = _make(kind)
    if obj.wants_warm_start():  # every instance once, each rank its block (as the loop does)
        n = sum(TITLES)
        every = random_batch(n, 49, TITLES)
        every["title"] = torch.repeat_interleave(torch.arange(len(TITLES)), torch.tensor(TITLES))
        every["snippet"] = torch.cat([torch.arange(c) for c in TITLES])
        rows = slice(rank * n // world, (rank + 1) * n // world)
        obj.warm_start(model, {k: (v[rows].double() if v.is_floating_point() else v[rows])
                               for k, v in every.items()})
    losses = []
    for step in range(STEPS):
        obj.on_epoch_start(step)
        batch = random_batch(B, 50 + step, TITLES)
        rows = slice(rank * B // world, (rank + 1) * B // world)
        local = {k: (v[rows].double() if v.is_floating_point() else v[rows]) for k, v in batch.items()}
        losses.append(float(obj(model, local)["loss"].detach()))
    return {"losses": losses, "state": obj.state_dict()}


KINDS = ("cross", "joint", "cma", "self_encode")


def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        for kind in KINDS:
            torch.save(_run(kind, rank, world), os.path.join(out_dir, f"{kind}_rank{rank}.pt"))
    finally:
        cleanup_distributed()


@pytest.fixture(scope="module")
def two_rank_results(tmp_path_factory):
    """One spawn of 2 gloo ranks running every objective (process start-up dominates)."""
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(2, str(out / "init"), str(out)), nprocs=2, join=True)
    return out


@pytest.mark.slow
@pytest.mark.distributed
@pytest.mark.parametrize("kind", KINDS)
def test_two_gloo_ranks_equal_one_process(kind, two_rank_results):
    single = _run(kind, 0, 1)
    ranks = [torch.load(two_rank_results / f"{kind}_rank{r}.pt", weights_only=True) for r in range(2)]
    for step in range(STEPS):
        mean = (ranks[0]["losses"][step] + ranks[1]["losses"][step]) / 2
        assert mean == pytest.approx(single["losses"][step], rel=1e-9, abs=1e-12), step
    for key, want in single["state"].items():
        for r in ranks:
            got = r["state"][key]
            if want.is_floating_point():
                torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12, msg=key)
            else:
                assert torch.equal(got, want), key
