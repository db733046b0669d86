"""GlobalBatchNorm on 2 gloo ranks equals nn.BatchNorm on the concatenated batch."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from binge.distributed import GlobalBatchNorm, cleanup_distributed, convert_sync_batchnorm


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 4, 5, 5, generator=g) * 3 + 1
    w = torch.randn(8, 3, 4, 5, 5, generator=g)
    return x, w


def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        x, w = _data()
        bn = convert_sync_batchnorm(nn.Sequential(nn.BatchNorm3d(3)), torch.device("cpu"))[0]
        assert isinstance(bn, GlobalBatchNorm)
        with torch.no_grad():
            bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
            bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
        b = x.shape[0] // world
        xr = x[rank * b:(rank + 1) * b].clone().requires_grad_(True)
        y = bn(xr)
        (y * w[rank * b:(rank + 1) * b]).sum().backward()
        grads = torch.cat([bn.weight.grad, bn.bias.grad])
        dist.all_reduce(grads)  # what DDP does (up to its 1/world factor)
        torch.save({"y": y.detach(), "gx": xr.grad, "gp": grads, "rm": bn.running_mean.clone(),
                    "rv": bn.running_var.clone()}, f"{out_dir}/rank{rank}.pt")
    finally:
        cleanup_distributed()


@pytest.mark.distributed
def test_global_batchnorm_matches_full_batch(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    parts = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    x, w = _data()
    ref = nn.BatchNorm3d(3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        ref.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    xf = x.clone().requires_grad_(True)
    y = ref(xf)
    (y * w).sum().backward()
    torch.testing.assert_close(torch.cat([p["y"] for p in parts]), y.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat([p["gx"] for p in parts]), xf.grad, atol=1e-5, rtol=1e-5)
    for p in parts:
        torch.testing.assert_close(p["gp"], torch.cat([ref.weight.grad, ref.bias.grad]), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(p["rm"], ref.running_mean, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(p["rv"], ref.running_var, atol=1e-6, rtol=1e-6)


def test_conversion_keeps_weights_and_state_dict_keys():
    model = nn.Sequential(nn.Conv2d(1, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm1d(2)))
    with torch.no_grad():
        model[1].weight.uniform_()
        model[1].running_var.fill_(3.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    converted = convert_sync_batchnorm(model, torch.device("cpu"))
    assert isinstance(converted[1], GlobalBatchNorm) and isinstance(converted[2][0], GlobalBatchNorm)
    after = converted.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k])
    # outside a process group it is plain BatchNorm
    x = torch.randn(6, 4, 3, 3)
    ref = nn.BatchNorm2d(4)
    ref.load_state_dict({k[2:]: v for k, v in before.items() if k.startswith("1.")})
    torch.testing.assert_close(converted[1](x), ref(x))
