"""Embedding throughput of ``binge embed`` against the training loader's read speed, same run.

Three timings over the same prepared corpus, in one process with ``--threads`` intra-op threads
and ``--workers`` DataLoader workers (0 = decoding in the main process: with ``--threads 1``
every figure is per core):

1. **training loader read**: the training input pipeline without the model:
   ``SnippetDataset.from_config(cfg, augment=True)`` (random crop, audio masking) batched by
   the config's hierarchical sampler (``build_sampler``), ``--read-snippets`` snippets;
2. **embed decode only**: the same loader ``binge embed`` builds (``augment=False``, per-title
   batches) iterated without the model;
3. **binge embed**: :func:`binge.library.embed_library` end to end (decode, both encoders and
   heads, Parquet shards), every snippet of the corpus.

The ratio embed / loader read is the share of the training loader's read speed that embedding
keeps (the forward passes of both encoders are the difference).

    .venv/bin/python benchmarks/embed_speed.py [--corpus PREPARED] [--checkpoint EXPORT]
        [--config configs/tiny.yaml] [--workers 0] [--threads 1] [--batch-size 32]

Without ``--corpus`` the tiny TV world is generated and prepared in a temporary folder; without
``--checkpoint`` a random-init export of ``--config``'s models is written (same FLOPs).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(REPO / "configs" / "tiny.yaml"))
    p.add_argument("--corpus", help="a prepared corpus (default: the tiny world, prepared)")
    p.add_argument("--checkpoint", help="an export (default: random init of --config)")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--read-snippets", type=int, default=512)
    p.add_argument("--out", help="write the figures as JSON here")
    return p.parse_args(argv)


def _corpus(cfg, tmp: Path) -> Path:
    from binge.data.prepare import prepare_corpus
    from binge.world import generate_world

    world = generate_world(tmp / "world", preset="tiny", seed=0)
    out = tmp / "corpus"
    prepare_corpus([world / "titles"], out, metadata=world / "metadata.csv", data=cfg.data,
                   progress=False)
    return out


def _export(cfg, tmp: Path) -> Path:
    from binge.models import build_av_model
    from binge.train.export import export_model

    torch.manual_seed(0)
    return export_model(build_av_model(cfg.model), cfg, tmp / "export")


def _collate(items):
    return torch.stack([it["video"] for it in items]), torch.stack([it["audio"] for it in items])


def loader_read(cfg, corpus: Path, workers: int, snippets: int) -> tuple[int, float]:
    """(snippets read, seconds) of the training dataset + hierarchical sampler."""
    from torch.utils.data import DataLoader

    from binge.data import SnippetDataset
    from binge.sampling import build_sampler

    ds = SnippetDataset.from_config(cfg, corpus, split="train", augment=True)
    sampler = build_sampler(cfg.sampling, ds.num_snippets, groups=ds.groups, seed=0)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=workers, collate_fn=_collate)
    got, t0 = 0, time.perf_counter()
    while got < snippets:
        for video, _ in loader:
            got += len(video)
            if got >= snippets:
                break
    return got, time.perf_counter() - t0


def embed_decode(cfg, corpus: Path, workers: int, batch_size: int) -> tuple[int, float]:
    """(snippets, seconds) of binge embed's own loader without the model."""
    from torch.utils.data import DataLoader

    from binge.data import SnippetDataset
    from binge.library.embed import _collate as embed_collate
    from binge.library.embed import _title_batches

    ds = SnippetDataset(corpus, augment=False, crop_size=cfg.augment.crop_size, data=cfg.data)
    batches = _title_batches(range(len(ds.title_ids)), ds.num_snippets, batch_size)
    loader = DataLoader(ds, batch_sampler=batches, num_workers=workers, collate_fn=embed_collate)
    t0 = time.perf_counter()
    got = sum(len(b["snippet"]) for b in loader)
    return got, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    from binge.config import load_config
    from binge.library import embed_library
    from binge.library.embed import export_config

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cfg = load_config(args.config)
        if args.checkpoint:
            cfg = export_config(args.checkpoint)
        corpus = Path(args.corpus) if args.corpus else _corpus(cfg, tmp)
        export = Path(args.checkpoint) if args.checkpoint else _export(cfg, tmp)
        n_read, t_read = loader_read(cfg, corpus, args.workers, args.read_snippets)
        n_dec, t_dec = embed_decode(cfg, corpus, args.workers, args.batch_size)
        report = embed_library(export, tmp / "lib", corpus=corpus, batch_size=args.batch_size,
                               workers=args.workers, device="cpu", progress=False)
    res = {
        "corpus": str(corpus), "threads": args.threads, "workers": args.workers,
        "batch_size": args.batch_size, "models": [cfg.model.video, cfg.model.audio],
        "loader_read_snippets_s": n_read / t_read,
        "embed_decode_only_snippets_s": n_dec / t_dec,
        "embed_snippets_s": report.snippets / report.seconds,
        "embed_snippets": report.snippets,
        "media_hours_per_hour": report.snippets * cfg.data.frames / cfg.data.fps / report.seconds,
    }
    res["embed_over_loader_read"] = res["embed_snippets_s"] / res["loader_read_snippets_s"]
    print(f"| what | snippets/s (threads={args.threads}, workers={args.workers}) |\n| --- | --- |")
    print(f"| training loader read (augment, hierarchical sampler) | {res['loader_read_snippets_s']:.1f} |")
    print(f"| binge embed loader, decode only | {res['embed_decode_only_snippets_s']:.1f} |")
    print(f"| binge embed end to end ({report.snippets} snippets) | {res['embed_snippets_s']:.1f} "
          f"({res['media_hours_per_hour']:.0f}× real time) |")
    print(f"| embed / loader read | {res['embed_over_loader_read']:.2f} |")
    if args.out:
        from binge.io import write_json

        write_json(res, Path(args.out))
    return res


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
