"""Multiply-accumulates per snippet of the paper's pretraining config and what they imply per GPU.

Counts the encoders f, g and projection heads h_f, h_g of ``binge.models`` with
``torch.utils.flop_counter.FlopCounterMode`` on the meta device (convolutions and matrix
products only; BatchNorm, ReLU and pooling are not counted), forward and forward+backward, at
the input sizes of a config (default: the paper's, §4.1: 3×16×158² video, 96 mel bins ×
(1 + 3.2 s·48 kHz / 512) = 301 audio frames, d = 512). Cross-checks one count against
reference-figures.md (torchvision R(2+1)D-18 on 3×8×112² = 20.26 GMACs), then turns the counted
training FLOPs into GPU time for E epochs over the paper's Movie dataset (§4.1: 3.6 K films of
105 min on average, cut into 3.2 s snippets) under stated peak-throughput and utilisation
assumptions, and gives the utilisation implied by the paper's "42 hours on 8 A100 GPUs".

    .venv/bin/python benchmarks/model_flops.py [--config configs/x.yaml] [--utilization 0.4]
        [--time-config configs/tiny.yaml]   # also time the tiny AVModel on this CPU
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import torchvision

from binge.config import load_config
from binge.models import AVModel, ProjectionHead, count_macs, create_model


class WithHeads(torch.nn.Module):
    """An AVModel with Eq. 1's heads h_f, h_g (which the NCE objective holds in training):
    ``forward(video, audio)`` → ``{"z_video", "z_audio"}``, what one training step computes."""

    def __init__(self, model: AVModel, embed_dim: int, hidden=None) -> None:
        super().__init__()
        self.video_encoder, self.audio_encoder = model.video_encoder, model.audio_encoder
        self.video_head = ProjectionHead(model.video_encoder.num_features, embed_dim, hidden, dims=3)
        self.audio_head = ProjectionHead(model.audio_encoder.num_features, embed_dim, hidden, dims=2)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> dict:
        return {"z_video": self.video_head(self.video_encoder.forward_features(video)),
                "z_audio": self.audio_head(self.audio_encoder.forward_features(audio))}

#: bf16 dense tensor-core peaks from NVIDIA's data sheets (TFLOP/s, no sparsity).
GPU_PEAK_TFLOPS = {"A100 (SXM, bf16 dense)": 312.0, "H100 (SXM, bf16 dense)": 989.0}
REFERENCE_TV_8x112_GMACS = 20.26  # reference-figures.md, torchvision R(2+1)D-18, 3×8×112²


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=None, help="a binge YAML config (default: the paper's defaults)")
    p.add_argument("overrides", nargs="*", help="section.key=value overrides")
    p.add_argument("--films", type=float, default=3600, help="titles in the dataset (Movie: 3.6 K)")
    p.add_argument("--minutes", type=float, default=105, help="average title length (Movie: 105)")
    p.add_argument("--epochs", type=int, default=None, help="default: optim.epochs of the config (10)")
    p.add_argument("--gpus", type=int, default=8, help="GPUs of the paper's run (8 A100)")
    p.add_argument("--paper-hours", type=float, default=42.0, help="the paper's wall time (§4.1)")
    p.add_argument("--utilization", type=float, default=0.4,
                   help="assumed fraction of the bf16 dense peak reached by training (default 0.4)")
    p.add_argument("--time-config", type=Path, default=None,
                   help="also time forward+backward of this config's AVModel on the CPU (e.g. configs/tiny.yaml)")
    p.add_argument("--time-steps", type=int, default=3, help="timed steps (after one warm-up)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    return p.parse_args(argv)


def module_macs(model: WithHeads, video_shape: tuple[int, ...], audio_shape: tuple[int, ...]) -> dict:
    """Forward and forward+backward MACs of each part of ``model`` for one snippet."""
    meta = copy.deepcopy(model).to("meta")
    fv = meta.video_encoder.forward_features(torch.empty(video_shape, device="meta"))
    fa = meta.audio_encoder.forward_features(torch.empty(audio_shape, device="meta"))
    parts = {
        "video encoder f": (model.video_encoder, video_shape),
        "video head h_f": (model.video_head, tuple(fv.shape)),
        "audio encoder g": (model.audio_encoder, audio_shape),
        "audio head h_g": (model.audio_head, tuple(fa.shape)),
    }
    rows = {}
    for name, (module, shape) in parts.items():
        rows[name] = {
            "input": "×".join(map(str, shape[1:])),
            "fwd": count_macs(module, shape),
            "fwd_bwd": count_macs(module, shape, backward=True),
        }
    rows["total"] = {
        "input": "",
        "fwd": count_macs(model, video_shape, audio_shape),
        "fwd_bwd": count_macs(model, video_shape, audio_shape, backward=True),
    }
    return rows


def snippet_shapes(cfg) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(1, 3, T, S, S) video and (1, 1, P, Q) audio of one snippet of ``cfg`` (centred STFT)."""
    d = cfg.data
    audio_frames = 1 + int(d.snippet_seconds * d.sample_rate) // d.hop_length
    return (1, 3, d.frames, cfg.augment.crop_size, cfg.augment.crop_size), (1, 1, d.n_mels, audio_frames)


def time_cpu(cfg, steps: int) -> dict:
    """Seconds per forward+backward step of ``cfg``'s AVModel at its batch size on the CPU,
    with the achieved GFLOP/s and, as a baseline in the same process, that of a square fp32
    matmul of similar work (so the figure reads as a fraction of what this CPU does on GEMM)."""
    from binge.models import build_av_model

    torch.manual_seed(0)
    model = WithHeads(build_av_model(cfg.model), cfg.model.embed_dim, cfg.model.head_hidden_dim).train()
    vs, as_ = snippet_shapes(cfg)
    B = cfg.sampling.batch_size
    video, audio = torch.randn(B, *vs[1:]), torch.randn(B, *as_[1:])
    flops = 2 * count_macs(model, (B, *vs[1:]), (B, *as_[1:]), backward=True)

    def step() -> None:
        out = model(video, audio)
        (out["z_video"] * out["z_audio"]).sum().backward()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - t0) / steps
    n = 1024
    x, y = torch.randn(n, n), torch.randn(n, n)
    reps = max(1, int(flops / (2 * n**3) / 4))
    torch.mm(x, y)
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(x, y)
    gemm = 2 * n**3 * reps / (time.perf_counter() - t0)
    return {"batch": B, "seconds_per_step": seconds, "snippets_per_s": B / seconds,
            "gflops": flops / seconds / 1e9, "gemm_gflops": gemm / 1e9, "fraction_of_gemm": flops / seconds / gemm}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    d = cfg.data
    epochs = args.epochs if args.epochs is not None else cfg.optim.epochs
    video_shape, audio_shape = snippet_shapes(cfg)

    model = WithHeads(AVModel(create_model(cfg.model.video), create_model(cfg.model.audio)),
                      cfg.model.embed_dim, cfg.model.head_hidden_dim)
    rows = module_macs(model, video_shape, audio_shape)
    tv = count_macs(torchvision.models.video.r2plus1d_18(), (1, 3, 8, 112, 112))
    ours_8x112 = count_macs(create_model("r2plus1d_18"), (1, 3, 8, 112, 112))

    print(f"# MACs per snippet: {cfg.model.video} + {cfg.model.audio}, d = {cfg.model.embed_dim}")
    print(f"video {video_shape[1:]}, audio {audio_shape[1:]}\n")
    print("| part | input | forward GMACs | fwd+bwd GMACs | fwd+bwd / fwd |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, r in rows.items():
        print(f"| {name} | {r['input']} | {r['fwd'] / 1e9:.3f} | {r['fwd_bwd'] / 1e9:.3f} | "
              f"{r['fwd_bwd'] / r['fwd']:.2f} |")
    print(f"\ncross-check: torchvision r2plus1d_18 on 3×8×112² = {tv / 1e9:.2f} GMACs "
          f"(reference-figures: {REFERENCE_TV_8x112_GMACS}); binge r2plus1d_18 = {ours_8x112 / 1e9:.2f} "
          f"(no 512×400 classifier)")

    snippets_per_epoch = args.films * args.minutes * 60 / d.snippet_seconds
    snippets = snippets_per_epoch * epochs
    train_flops = 2 * rows["total"]["fwd_bwd"] * snippets  # 2 FLOPs per MAC
    B = cfg.sampling.batch_size
    print(f"\n# {epochs} epochs over {args.films:.0f} titles × {args.minutes:g} min / "
          f"{d.snippet_seconds:g} s snippets")
    print(f"snippets per epoch {snippets_per_epoch:,.0f}; steps per epoch at B = {B}: "
          f"{snippets_per_epoch / B:,.0f}; snippets in all {snippets:,.0f}")
    print(f"training FLOPs (counted fwd+bwd, conv/matmul only): {train_flops:.3e}\n")
    print(f"| GPU | peak TFLOP/s | assumed utilisation | snippets/s per GPU | GPU-hours | "
          f"hours on {args.gpus} GPUs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    per_gpu = {}
    for gpu, peak in GPU_PEAK_TFLOPS.items():
        rate = peak * 1e12 * args.utilization
        snip_s = rate / (2 * rows["total"]["fwd_bwd"])
        gpu_h = train_flops / rate / 3600
        per_gpu[gpu] = {"snippets_per_s": snip_s, "gpu_hours": gpu_h, "hours_on_gpus": gpu_h / args.gpus}
        print(f"| {gpu} | {peak:.0f} | {args.utilization:.0%} | {snip_s:,.0f} | {gpu_h:,.1f} | "
              f"{gpu_h / args.gpus:,.1f} |")
    a100 = GPU_PEAK_TFLOPS["A100 (SXM, bf16 dense)"] * 1e12
    implied = train_flops / (args.paper_hours * 3600 * args.gpus * a100)
    paper_rate = snippets / (args.paper_hours * 3600 * args.gpus)
    print(f"\npaper: {args.paper_hours:g} h on {args.gpus} A100 → {paper_rate:,.0f} snippets/s per GPU, "
          f"i.e. {implied:.1%} of the A100 bf16 dense peak on the counted FLOPs")

    timing = None
    if args.time_config is not None:
        tcfg = load_config(args.time_config)
        timing = time_cpu(tcfg, args.time_steps)
        print(f"\n# CPU, {torch.get_num_threads()} thread(s): {tcfg.model.video} + {tcfg.model.audio}, "
              f"batch {timing['batch']} ({args.time_config})")
        print(f"{timing['seconds_per_step']:.2f} s per forward+backward step, "
              f"{timing['snippets_per_s']:.1f} snippets/s, {timing['gflops']:.1f} GFLOP/s counted = "
              f"{timing['fraction_of_gemm']:.2f} × this CPU's fp32 1024² GEMM ({timing['gemm_gflops']:.1f} GFLOP/s)")

    if args.json is not None:
        out = {
            "video_shape": video_shape, "audio_shape": audio_shape, "macs": rows,
            "torchvision_r2plus1d_18_8x112_macs": tv, "snippets_per_epoch": snippets_per_epoch,
            "epochs": epochs, "train_flops": train_flops, "utilization": args.utilization,
            "per_gpu": per_gpu, "paper_implied_a100_utilization": implied, "cpu_timing": timing,
        }
        tmp = args.json.with_name(f".{args.json.name}.tmp")
        tmp.write_text(json.dumps(out, indent=2))
        tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
