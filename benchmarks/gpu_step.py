"""One training step of the paper's configuration on one device: snippets/s, MFU, memory, data wait.

The paper's model and objective (R(2+1)D-18 on 3×16×158², ResNet-18 on 1×96×301 log-mel,
projection heads, Eq. 1 NCE, Adam; ``configs/paper/table1/movie_k16_wM.yaml``) stepped at
batch sizes B per device (default 64 and 128) under bf16 autocast, in four variants: eager
or ``torch.compile``, each with or without ``channels_last_3d`` (the video encoder's weights
and input; the audio encoder goes ``channels_last``). Two phases, in one run:

1. **compute only** — one synthetic batch resident on the device (the baseline): per step
   time after ``--warmup`` steps, snippets/s, model FLOP utilisation = snippets/s × counted
   training FLOPs per snippet (``binge.models.count_macs``, forward + backward, 2 FLOPs per
   MAC) / the device's bf16 dense peak (:data:`BF16_PEAK_TFLOPS`, matched on the device
   name; ``--peak-tflops`` overrides; none on CPU), and the peak memory allocated.
2. **fed by the real loader** — the fastest variant of each B fed by what ``binge pretrain``
   uses: ``HierarchicalBatchSampler`` (k = 16) → ``KeyedBatchSampler`` → ``DataLoader`` of
   ``KeyedDataset(SnippetDataset)`` with W workers, pinned memory and prefetch 4, on a
   generated corpus prepared at the paper's geometry (``bench_corpus.py``). Each step waits
   for the device before the next batch is asked for, so the data-wait fraction (time
   blocked on the loader / wall time) is the share of the step the device sat idle. Its
   snippets/s over the compute-only snippets/s is the ratio to quote.

On a CUDA machine (about 6–8 min on one GPU with the defaults; ``--budget-s`` skips what
would not fit, and says so in the JSON)::

    python benchmarks/gpu_step.py --json gpu_step.json

On CPU at tiny sizes (what ``tests/benchmarks/test_gpu_step.py`` runs)::

    python benchmarks/gpu_step.py --device cpu --tiny --batch 4 --steps 1 --warmup 1 \\
        --workers 0 --compile-backend eager --json /tmp/gpu_step.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_corpus import base_corpus, replicate  # noqa: E402

from binge.config import Config, load_config  # noqa: E402
from binge.data import SnippetDataset  # noqa: E402
from binge.data.logmel import LogMelSettings, snippet_frames  # noqa: E402
from binge.data.transforms import video_to_float  # noqa: E402
from binge.io import write_json  # noqa: E402
from binge.models import build_av_model, count_macs  # noqa: E402
from binge.objectives import build_objective  # noqa: E402
from binge.sampling import build_sampler  # noqa: E402
from binge.train.seeding import KeyedBatchSampler, KeyedDataset  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PAPER_CONFIG = REPO / "configs" / "paper" / "table1" / "movie_k16_wM.yaml"
TINY_CONFIG = REPO / "configs" / "tiny.yaml"

#: bf16 dense tensor-core peaks (TFLOP/s, no sparsity) from NVIDIA's data sheets; the first
#: key found in ``torch.cuda.get_device_name()`` wins, so specific names come first.
BF16_PEAK_TFLOPS = {
    "H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.0, "H200": 989.0, "GH200": 989.0,
    "B200": 2250.0, "A100": 312.0, "A800": 312.0, "L40S": 362.0, "L4": 121.0, "A10G": 70.0,
    "A10": 125.0,
}


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--tiny", action="store_true",
                   help="configs/tiny.yaml's model and geometry (CPU tests) instead of the paper's")
    p.add_argument("--batch", type=int, nargs="+", default=[64, 128], help="B per device")
    p.add_argument("--variants", nargs="+", default=["eager", "eager+cl3d", "compile",
                                                     "compile+cl3d"],
                   help="eager | compile, +cl3d for channels_last_3d")
    p.add_argument("--steps", type=int, default=10, help="timed steps per variant")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compile happens here)")
    p.add_argument("--loader-steps", type=int, default=None, help="timed loader-fed steps "
                   "(default: 2 × --steps)")
    p.add_argument("--workers", type=int, default=None,
                   help="DataLoader workers W (default: the cores of this process)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="auto: bf16 autocast on CUDA, fp32 on CPU")
    p.add_argument("--compile-backend", default="inductor", help="torch.compile backend")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="bf16 dense peak of the device (default: from the table by device name)")
    p.add_argument("--titles", type=int, default=64, help="titles of the generated corpus")
    p.add_argument("--title-seconds", type=float, default=120.0, help="length of each title")
    p.add_argument("--work", type=Path, default=None, help="corpus cache (default: a temp dir)")
    p.add_argument("--budget-s", type=float, default=450.0,
                   help="skip variants that would start after this many seconds (recorded)")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    return p.parse_args(argv)


def peak_for_name(name: str) -> Optional[float]:
    """bf16 dense peak (TFLOP/s) of a CUDA device name, or None when it is not in the table."""
    for key, peak in BF16_PEAK_TFLOPS.items():
        if key in name:
            return peak
    return None


def device_peak_tflops(device: torch.device, override: Optional[float]) -> tuple[Optional[float], str]:
    """(bf16 dense peak in TFLOP/s or None, device name)."""
    if device.type != "cuda":
        return override, "cpu"
    name = torch.cuda.get_device_name(device)
    return (override if override is not None else peak_for_name(name)), name


def input_shapes(cfg: Config) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per-snippet model inputs: video (3, T, S, S), audio (1, P, Q)."""
    d = cfg.data
    settings = LogMelSettings(d.sample_rate, d.n_mels, d.n_fft, d.hop_length)
    q = snippet_frames(0, d.frames / d.fps, settings)[1]
    s = cfg.augment.crop_size
    return (3, d.frames, s, s), (1, d.n_mels, q)


def train_flops_per_snippet(cfg: Config) -> int:
    """Counted forward + backward FLOPs of one snippet (2 FLOPs per MAC)."""
    video, audio = input_shapes(cfg)
    model = build_av_model(cfg.model)
    return 2 * count_macs(model, (1, *video), (1, *audio), backward=True)


class _Step(torch.nn.Module):
    """Model + objective as one module (what the trainer wraps in DDP): ``loss = obj(model, b)``."""

    def __init__(self, model: torch.nn.Module, objective: torch.nn.Module):
        super().__init__()
        self.model, self.objective = model, objective

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        return self.objective(self.model, batch)


class Runner:
    """Model + objective + Adam of ``cfg`` in one variant, stepping batches on ``device``."""

    def __init__(self, cfg: Config, device: torch.device, variant: str, bf16: bool,
                 backend: str, num_instances: int):
        torch.manual_seed(0)
        self.device, self.bf16 = device, bf16
        self.cl3d = variant.endswith("+cl3d")
        model = build_av_model(cfg.model).to(device)
        if self.cl3d:
            model.video_encoder.to(memory_format=torch.channels_last_3d)
            model.audio_encoder.to(memory_format=torch.channels_last)
        objective = build_objective(cfg, model, num_instances).to(device)
        self.module = _Step(model, objective)
        # the paper's optimiser (supplement §4): Adam at the config's peak rate
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=cfg.optim.lr,
                                          weight_decay=cfg.optim.weight_decay)
        self.forward: Callable = self.module
        if variant.startswith("compile"):
            self.forward = torch.compile(self.module, backend=backend)

    def to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Loader batch → device tensors, as the trainer's ``_to_device`` does."""
        nb = self.device.type == "cuda"
        video = video_to_float(batch["video"].to(self.device, non_blocking=nb))
        if self.cl3d:
            video = video.contiguous(memory_format=torch.channels_last_3d)
        audio = batch["audio"].to(self.device, non_blocking=nb)
        if self.cl3d:
            audio = audio.contiguous(memory_format=torch.channels_last)
        index = torch.as_tensor(batch["index"]).to(self.device, non_blocking=nb)
        return {"video": video, "audio": audio, "index": index,
                "title": batch["title"], "snippet": batch["snippet"]}

    def step(self, batch: dict[str, Any]) -> float:
        ctx = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16
               else nullcontext())
        with ctx:
            out = self.forward(batch)
        self.optimizer.zero_grad(set_to_none=True)
        out["loss"].backward()
        self.optimizer.step()
        return out["loss"]

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def synthetic_batch(cfg: Config, batch: int) -> dict[str, Any]:
    """A loader-shaped batch of random frames and log-mels (uint8 video, float audio)."""
    (_, t, s, _), audio = input_shapes(cfg)
    g = torch.Generator().manual_seed(0)
    return {"video": torch.randint(0, 256, (batch, t, s, s, 3), dtype=torch.uint8, generator=g),
            "audio": torch.randn((batch, *audio), generator=g),
            "index": torch.arange(batch), "title": torch.arange(batch) // 16,
            "snippet": torch.arange(batch) % 16}


def compute_only(runner: Runner, batch: dict[str, Any], steps: int, warmup: int) -> dict:
    """Steps on one resident batch: seconds per step and snippets/s."""
    b = runner.to_device(batch)
    t0 = time.perf_counter()
    for _ in range(warmup):
        runner.step(b)
    runner.sync()
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = runner.step(b)
    runner.sync()
    dt = time.perf_counter() - t0
    n = batch["video"].shape[0]
    return {"warmup_s": warm, "step_s": dt / steps, "snippets_per_s": n * steps / dt,
            "loss": loss.detach().item()}


def loader_fed(runner: Runner, loader: Any, offsets: torch.Tensor, steps: int,
               warmup: int) -> dict:
    """Steps fed by ``loader``: snippets/s and the share of wall time blocked on it."""
    it = iter(loader)
    wait = 0.0
    n = 0
    for i in range(warmup + steps):
        if i == warmup:
            runner.sync()
            wait, n, t0 = 0.0, 0, time.perf_counter()
        w0 = time.perf_counter()
        raw = next(it)
        wait += time.perf_counter() - w0
        raw["index"] = offsets[raw["title"]] + raw["snippet"]
        runner.step(runner.to_device(raw))
        runner.sync()  # the device is idle while the next batch is awaited
        n += raw["video"].shape[0]
    total = time.perf_counter() - t0
    return {"snippets_per_s": n / total, "data_wait_fraction": wait / total, "steps": steps}


def build_loader(cfg: Config, corpus: Path, batch: int, workers: int, cuda: bool,
                 steps: int):
    """The trainer's input pipeline at per-device batch ``batch``, ``steps`` batches long."""
    ds = SnippetDataset.from_config(cfg, corpus_dir=corpus, augment=True)
    counts = ds.num_snippets
    cfg.sampling.batch_size = batch
    cfg.sampling.k = min(cfg.sampling.k, batch)
    cfg.sampling.steps_per_epoch = steps  # the small generated corpus may hold fewer batches
    sampler = build_sampler(cfg.sampling, counts, seed=0)
    keyed = KeyedBatchSampler(sampler, seed=0)
    keyed.set_epoch(0)
    loader = torch.utils.data.DataLoader(
        KeyedDataset(ds), batch_sampler=keyed, num_workers=workers, pin_memory=cuda,
        persistent_workers=False, prefetch_factor=4 if workers > 0 else None)
    offsets = torch.tensor([0, *torch.tensor(counts).cumsum(0)[:-1].tolist()])
    return loader, offsets, sum(counts)


def run(args: argparse.Namespace) -> dict:
    """Every (B, variant) compute-only, then each B's fastest variant fed by the loader."""
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("gpu_step: --device cuda but torch sees no CUDA device; "
                         "pass --device cpu --tiny for the CPU check")
    cfg = load_config(TINY_CONFIG if args.tiny else PAPER_CONFIG)
    cfg.sampling.k = 2 if args.tiny else 16
    bf16 = args.precision == "bf16" or (args.precision == "auto" and cuda)
    peak, name = device_peak_tflops(device, args.peak_tflops)
    flops = train_flops_per_snippet(cfg)
    workers = args.workers if args.workers is not None else len(os.sched_getaffinity(0))
    start = time.perf_counter()
    result: dict[str, Any] = {
        "device": name, "torch": torch.__version__, "config": "tiny" if args.tiny else "paper",
        "precision": "bf16 autocast" if bf16 else "fp32", "train_flops_per_snippet": flops,
        "peak_tflops_bf16": peak, "workers": workers, "compute_only": [], "loader_fed": [],
        "skipped": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        geometry = "tiny" if args.tiny else "paper"
        base = base_corpus(work, geometry, args.title_seconds, titles=min(4, args.titles),
                           workers=min(4, max(1, workers)))
        corpus = replicate(base, work / f"gpu_{geometry}_{args.titles}", args.titles)
        for b in args.batch:
            best = None
            for variant in args.variants:
                if time.perf_counter() - start > args.budget_s:
                    result["skipped"].append({"batch": b, "variant": variant,
                                              "reason": f"budget of {args.budget_s:g} s spent"})
                    continue
                row = {"batch": b, "variant": variant}
                try:
                    base_alloc = 0
                    if cuda:
                        torch.cuda.empty_cache()
                        torch.cuda.reset_peak_memory_stats(device)
                        base_alloc = torch.cuda.memory_allocated(device)  # the kept best runner
                    runner = Runner(cfg, device, variant, bf16, args.compile_backend,
                                    num_instances=10**6)
                    row.update(compute_only(runner, synthetic_batch(cfg, b), args.steps,
                                            args.warmup))
                    row["mfu"] = (row["snippets_per_s"] * flops / (peak * 1e12)
                                  if peak else None)
                    # this variant's own peak: model, Adam state, activations (not the kept one)
                    row["peak_memory_bytes"] = (torch.cuda.max_memory_allocated(device)
                                                - base_alloc) if cuda else None
                    if best is None or row["snippets_per_s"] > best[1]["snippets_per_s"]:
                        best = (runner, row)
                    del runner
                except torch.cuda.OutOfMemoryError as exc:
                    row["error"] = f"out of memory: {str(exc).splitlines()[0]}"
                result["compute_only"].append(row)
                print(json.dumps(row), flush=True)
            if best is None:
                continue
            runner, ref = best
            if time.perf_counter() - start > args.budget_s:
                result["skipped"].append({"batch": b, "variant": ref["variant"] + " (loader)",
                                          "reason": f"budget of {args.budget_s:g} s spent"})
                continue
            steps = args.loader_steps or 2 * args.steps
            warm = max(1, args.warmup)
            loader, offsets, _ = build_loader(cfg, corpus, b, workers, cuda, warm + steps)
            fed = loader_fed(runner, loader, offsets, steps, warmup=warm)
            fed.update(batch=b, variant=ref["variant"],
                       vs_compute_only=fed["snippets_per_s"] / ref["snippets_per_s"])
            result["loader_fed"].append(fed)
            print(json.dumps(fed), flush=True)
    result["wall_s"] = time.perf_counter() - start
    return result


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    torch.backends.cudnn.benchmark = True
    result = run(args)
    if args.json:
        write_json(result, args.json)
    print(f"{result['device']}: {result['precision']}, "
          f"{result['train_flops_per_snippet'] / 1e9:.1f} GFLOP per snippet (fwd + bwd)")
    print("| B | variant | snippets/s | MFU | peak memory GiB |")
    print("| --- | --- | ---: | ---: | ---: |")
    for r in result["compute_only"]:
        if "error" in r:
            print(f"| {r['batch']} | {r['variant']} | {r['error']} | | |")
            continue
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "–"
        mem = f"{r['peak_memory_bytes'] / 2**30:.1f}" if r["peak_memory_bytes"] else "–"
        print(f"| {r['batch']} | {r['variant']} | {r['snippets_per_s']:.1f} | {mfu} | {mem} |")
    for r in result["loader_fed"]:
        print(f"loader-fed B = {r['batch']} ({r['variant']}, W = {result['workers']}): "
              f"{r['snippets_per_s']:.1f} snippets/s = {r['vs_compute_only']:.2f}× compute only,"
              f" data wait {r['data_wait_fraction']:.1%}")
    for s in result["skipped"]:
        print(f"skipped B = {s['batch']} {s['variant']}: {s['reason']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
