"""The run folder of ``binge pretrain`` between runs: nothing finished is destroyed, no two runs mix.

``pretrain --restart`` (``resume=False``) does not truncate the previous run's records: once every
check of the new run has passed (a refused restart moves nothing) and before it writes anything,
:func:`set_aside_previous` moves them (``metrics.jsonl``, ``tb/``,
``checkpoints/``, ``export/``, ``config.yaml``, ``scenes.json``: the scenes it sampled) into ``out_dir/previous/<UTC time>/`` with one
``rename`` each, so the old run stays whole and readable, and a later plain rerun finds no
``last.pt`` of the old run to resume from (a resume never mixes two runs). Temporary files that a
``kill -9`` left while a checkpoint was being written are removed by :func:`clean_run_folder`.

Both are called by rank 0 only, holding the folder's lock (:class:`binge.locks.FolderLock`).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Optional

from binge.io import remove_stale_temporaries

__all__ = ["RUN_RECORDS", "PREVIOUS", "set_aside_previous", "clean_run_folder"]

logger = logging.getLogger(__name__)

#: what a run writes into its out_dir and a restart moves aside (run_info.json keeps its own
#: history of runs: binge.runinfo)
RUN_RECORDS = ("metrics.jsonl", "tb", "checkpoints", "export", "config.yaml", "scenes.json")
#: the sub-folder of out_dir holding earlier runs moved aside by a restart
PREVIOUS = "previous"


def set_aside_previous(out_dir: str | Path) -> Optional[Path]:
    """Move the previous run's records out of ``out_dir`` into ``out_dir/previous/<time>/``.

    Returns the folder they went to, or None when there was nothing to move. Raises ``OSError``
    (with nothing lost: each record is either still in place or moved whole).
    """
    out = Path(out_dir)
    found = [name for name in RUN_RECORDS if (out / name).exists()]
    if not found:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    dest = out / PREVIOUS / stamp
    n = 1
    while dest.exists():
        n += 1
        dest = out / PREVIOUS / f"{stamp}-{n}"
    dest.mkdir(parents=True)
    for name in found:
        os.replace(out / name, dest / name)
    logger.warning("--restart: the previous run's %s moved to %s", ", ".join(found), dest)
    return dest


def clean_run_folder(out_dir: str | Path) -> list[Path]:
    """Remove temporary files a killed writer left in ``out_dir`` and ``out_dir/checkpoints``
    (a checkpoint being written at a ``kill -9``); returns them."""
    out = Path(out_dir)
    return [*remove_stale_temporaries(out), *remove_stale_temporaries(out / "checkpoints"),
            *remove_stale_temporaries(out / "export")]


def corpus_identity(corpus: str | Path, title_ids: "list[str] | tuple[str, ...]",
                    counts: "list[int] | tuple[int, ...]") -> str:
    """What a checkpoint records of the corpus it trained on, independent of where the corpus
    lies (moving it keeps the identity): SHA-256 of each training title's id, snippet count M_n
    and source content fingerprint (``meta.json``'s ``source_fingerprint``, "" when absent)."""
    import hashlib
    import json

    digest = hashlib.sha256()
    for tid, m in zip(title_ids, counts):
        meta = Path(corpus) / "titles" / str(tid) / "meta.json"
        try:
            fingerprint = json.loads(meta.read_text()).get("source_fingerprint", "")
        except (OSError, ValueError):
            fingerprint = ""
        digest.update(f"{tid}\t{int(m)}\t{fingerprint}\n".encode())
    return digest.hexdigest()[:32]
