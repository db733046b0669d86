"""AVID's ``bank_init: encode`` through the training loop, on the tiny world corpus.

The pass before step 1 writes every training snippet's initial features into the bank (each
row equals the objective's own embedding of that snippet, drawn with the pass's sample seed),
leaves the model (parameters and BatchNorm statistics) untouched, and is not repeated on resume.
"""

from __future__ import annotations

from pathlib import Path

import torch

from binge.config import load_config
from binge.distributed import init_distributed
from binge.train.loop import Trainer
from binge.train.seeding import KeyedDataset, warm_start_batches

REPO = Path(__file__).resolve().parents[2]
OVERRIDES = ["sampling.batch_size=8", "augment.crop_size=32", "data.num_workers=0",
             "train.log_every_steps=1", "train.checkpoint_every_steps=2", "train.max_steps=2",
             "objective.avid.num_negatives=16", "objective.avid.bank_init=encode"]


def _trainer(corpus: Path, out: Path) -> Trainer:
    cfg = load_config(REPO / "configs/objectives/avid_self_tiny.yaml",
                      [f"data.corpus={corpus}", f"train.out_dir={out}", *OVERRIDES])
    return Trainer(cfg, init_distributed(device="cpu"))


def test_encode_fills_every_row_keeps_the_model_and_is_not_repeated_on_resume(tiny_corpus, tmp_path):
    trainer = _trainer(tiny_corpus, tmp_path / "run")
    obj = trainer.objective
    assert obj.wants_warm_start()
    random_bank = obj.bank.bank("video").clone()
    model_state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer._warm_start()
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, model_state[k]), f"the warm start changed {k}"
    bank = obj.bank.bank("video")
    assert not torch.isclose(bank, random_bank).all(dim=1).any(), "a row kept its random value"
    # one row against the objective's embedding of the same sample, alone in its batch
    first = warm_start_batches(trainer.dataset.num_snippets, 8, trainer.cfg.train.seed)[0]
    keyed = KeyedDataset(trainer.dataset)
    batch = torch.utils.data.default_collate([keyed[key] for key in first])
    trainer.step_module.train()
    with torch.no_grad():
        v, _ = obj.embed(trainer.model, trainer._to_device(batch))
    torch.testing.assert_close(bank[: len(first)], v, rtol=1e-5, atol=1e-5)
    for k, val in trainer.model.state_dict().items():  # that forward updated BN; put it back
        val.copy_(model_state[k])

    trainer.fit()
    assert not torch.isnan(obj.nce["v2v"].z_bar)
    resumed = _trainer(tiny_corpus, tmp_path / "run")
    assert resumed.step == 2 and not resumed.objective.wants_warm_start()
