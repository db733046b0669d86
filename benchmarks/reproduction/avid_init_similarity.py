"""Why Self-/Joint-AVID's frozen-Z̄ loss rises with a random initial bank (docs/objectives.md).

Builds the trainer of a config exactly as ``binge pretrain`` does, draws its first training
batch, embeds it with the *initial* encoders and AVID heads (train mode, no gradient) and
prints, per modality:

- the mean and minimum cosine between different snippets' features (what the within-modal
  terms' negatives will score once the bank holds real features);
- the mean cosine between a snippet's video and another snippet's audio features (what the
  cross-modal terms' negatives score);
- Z̄ (Eq. 1, mean of exp(s/τ)) estimated against the random initial bank, as the paper does on
  the first iteration, and against the batch's other features (what a bank of real features
  gives, and what ``objective.avid.bank_init=encode`` estimates it on).

Usage::

    python benchmarks/reproduction/avid_init_similarity.py --config configs/study/pretrain.yaml \
        data.corpus=runs/study/corpus objective.name=avid objective.avid.variant=self
"""

from __future__ import annotations

import argparse
import tempfile

import torch

from binge.config import load_config
from binge.distributed import init_distributed
from binge.objectives.memory_bank import estimate_partition
from binge.train.loop import Trainer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("overrides", nargs="*", help="key=value, as for binge pretrain")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        cfg = load_config(args.config, [*args.overrides, f"train.out_dir={out}",
                                        "data.num_workers=0"])
        if cfg.objective.name != "avid":
            parser.error("pass objective.name=avid (this measures AVID's heads and bank)")
        trainer = Trainer(cfg, init_distributed(device="cpu"), resume=False)
        obj = trainer.objective
        batch = trainer._to_device(next(iter(trainer.loader)))
        trainer.step_module.train()
        with torch.no_grad():
            feats = dict(zip(("video", "audio"), obj.embed(trainer.model, batch)))
    tau = cfg.objective.avid.temperature
    print(f"{len(batch['video'])} snippets, τ = {tau}")
    for modality, x in feats.items():
        off = ~torch.eye(len(x), dtype=torch.bool)
        cos = (x @ x.T)[off]
        random_bank = obj.bank.bank(modality)[: len(x) * 8]
        z_random = float(estimate_partition(x @ random_bank.T, tau))
        z_real = float(estimate_partition(cos, tau))
        print(f"{modality}: cosine between snippets mean {cos.mean():.3f}, min {cos.min():.3f}; "
              f"Z̄ against the random bank {z_random:.3g}, against real features {z_real:.3g}")
    v, a = feats["video"], feats["audio"]
    cross = (v @ a.T)[~torch.eye(len(v), dtype=torch.bool)]
    print(f"video·audio: cosine between snippets mean {cross.mean():.3f}")


if __name__ == "__main__":
    main()
