"""Export of pretrained encoders and heads, and the one-call API to load them back.

``export_model(model, cfg, out_dir, objective)`` writes, atomically, into ``out_dir``::

    video_encoder.safetensors  audio_encoder.safetensors   f and g (paper §3)
    objective_heads.safetensors                             the heads the run trained, which
                                                            belong to its objective (Eq. 1's h_f,
                                                            h_g for NCE / InfoNCE, AVID's MLPs,
                                                            CrissCross's projectors and
                                                            predictors; absent when none)
    config.json                                             the run's full config + model names,
                                                            and ``trained_by``: the command that
                                                            trained the encoders

Downstream code calls :func:`load_pretrained` (the whole :class:`~binge.models.AVModel`) or
:func:`load_encoder` (one encoder); :func:`load_embedder` gives the space the objective trained
(what ``binge discrepancy`` measures). All accept an export folder or a training checkpoint
(``checkpoints/last.pt``), and read only safetensors / ``weights_only`` checkpoints. Exports
written while the model held Eq. 1's heads (``binge-export-1`` and ``-2``: ``video_head`` /
``audio_head.safetensors`` beside the encoders, frozen at initialisation for AVID / CMA /
CrissCross) and checkpoints of that time load with all three: the encoders as before, and the
NCE / InfoNCE heads from those files (``Objective.legacy_model_heads``).

An export (or checkpoint) of ``binge supervised`` (``trained_by: "binge supervised"``) holds
encoders trained with labels and no projection heads: :func:`load_pretrained` and
:func:`load_encoder` read it (its encoder features are what ``binge evaluate`` probes), while
:func:`load_embedder` refuses it with :class:`NoProjectionHeadsError`: the space z of Eq. 1/2
(what ``binge embed``'s z_* and ``binge discrepancy`` need) does not exist for it.

>>> from binge.train.export import load_encoder  # doctest: +SKIP
>>> video = load_encoder("runs/tiny/export", "video")  # doctest: +SKIP
>>> feats = video(clips)  # (B, C) globally pooled  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from binge.config import Config, from_dict, to_dict
from binge.io import atomic_path, write_json

__all__ = ["export_model", "load_pretrained", "load_encoder", "load_embedder", "read_export_meta", "Embedder", "PARTS",
           "OBJECTIVE_HEADS", "trained_by", "ExportError", "NoProjectionHeadsError"]

#: attribute of AVModel → file stem in the export folder.
PARTS = ("video_encoder", "audio_encoder")
#: file stems of Eq. 1's heads in exports written while AVModel held them (binge-export-1/2).
LEGACY_HEAD_PARTS = ("video_head", "audio_head")
#: the file of the objective's own heads (``Objective.heads()``, keys ``<head>.<param>``).
OBJECTIVE_HEADS = "objective_heads.safetensors"


def _state_for_safetensors(module: nn.Module) -> dict[str, torch.Tensor]:
    # safetensors refuses shared storage; clone to contiguous CPU tensors.
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def _save(state: dict[str, torch.Tensor], path: Path, metadata: Optional[dict[str, str]] = None) -> None:
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)


#: the data settings an encoder's weights were trained on, by part: recorded in the weights
#: file's safetensors metadata (``binge.input``) and checked against config.json on load.
INPUT_KEYS = {
    "video_encoder": ("data.frames", "data.fps", "data.short_side", "augment.crop_size"),
    "audio_encoder": ("data.frames", "data.fps", "data.sample_rate", "data.n_mels", "data.n_fft",
                      "data.hop_length"),
}


def _input_record(config: dict[str, Any], part: str) -> dict[str, Any]:
    """``{"data.n_mels": 64, …}``: the values of :data:`INPUT_KEYS` in a config dict."""
    out = {}
    for dotted in INPUT_KEYS[part]:
        section, key = dotted.split(".")
        value = (config.get(section) or {}).get(key)
        out[dotted] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    return out


def _check_input(file: Path, part: str, config: dict[str, Any]) -> None:
    """The weights in ``file`` were trained on the data that config.json describes; an export
    whose config.json was edited (96 mels on a 64-mel encoder) is refused naming the key."""
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt") as fh:
            recorded = (fh.metadata() or {}).get("binge.input")
    except (OSError, SafetensorError):
        return  # a damaged file is reported by _load_part
    if recorded is None:
        return  # exports before the record: nothing to check against
    try:
        trained = dict(json.loads(recorded))
    except (ValueError, TypeError):
        raise ExportError(f"{file}: its binge.input record is damaged; re-export the run") from None
    described = _input_record(config, part)
    for key, value in trained.items():
        if key in described and described[key] != value:
            raise ExportError(
                f"{file} was trained with {key}={value!r} but {file.parent / 'config.json'} says "
                f"{described[key]!r}; the export's config.json was altered: restore it or "
                "re-export the run")


#: ``trained_by`` of a pretraining export and of the supervised ceiling's (binge.train.supervised).
PRETRAIN, SUPERVISED = "binge pretrain", "binge supervised"


def export_model(model: nn.Module, cfg: Config, out_dir: str | Path, objective: Optional[nn.Module] = None,
                 trained_by: str = PRETRAIN) -> Path:
    """Write the encoders of an AVModel, the heads ``objective`` trained (``Objective.heads()``
    with parameters; none without an objective) and ``config.json`` into ``out_dir``.
    ``trained_by``: the command whose run this is (:data:`PRETRAIN`, :data:`SUPERVISED`),
    recorded in ``config.json`` so consumers can tell an export without heads by design."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = to_dict(cfg)
    for part in PARTS:
        record = {"binge.input": json.dumps(_input_record(config, part))} if part in INPUT_KEYS else None
        _save(_state_for_safetensors(getattr(model, part)), out / f"{part}.safetensors", record)
    heads = {name: head for name, head in (objective.heads() if objective is not None else {}).items()
             if head.state_dict()}
    if heads:
        _save({f"{name}.{k}": v for name, head in heads.items()
               for k, v in _state_for_safetensors(head).items()}, out / OBJECTIVE_HEADS)
    meta: dict[str, Any] = {
        "format": "binge-export-3",
        "trained_by": trained_by,
        "objective_heads": sorted(heads),
        "video": {
            "name": getattr(model.video_encoder, "model_name", cfg.model.video),
            "kwargs": getattr(model.video_encoder, "model_kwargs", {}),
        },
        "audio": {
            "name": getattr(model.audio_encoder, "model_name", cfg.model.audio),
            "kwargs": getattr(model.audio_encoder, "model_kwargs", {}),
        },
        "embed_dim": cfg.model.embed_dim,
        "config": config,
    }
    write_json(meta, out / "config.json")
    return out


from safetensors import SafetensorError  # noqa: E402  (the error of a damaged weights file)


class ExportError(ValueError):
    """An export folder whose parts are missing, damaged or do not fit each other."""


class NoProjectionHeadsError(ExportError):
    """An export or checkpoint of ``binge supervised``: encoders without the projection heads
    whose space (Eq. 1's z, the space of Eq. 2's measures) an embedding consumer needs."""


def _is_supervised_state(state: dict[str, Any]) -> bool:
    """A checkpoint of ``binge supervised``: recorded (``trained_by``), or, before the record,
    the SupervisedStep's keys (``model.<encoder>…`` beside the ``video_fc`` classifier)."""
    model = state.get("model") or {}
    return state.get("trained_by") == SUPERVISED or any(k.startswith("video_fc.") for k in model)


def trained_by(path: str | Path) -> str:
    """The command whose run an export folder or checkpoint holds (:data:`PRETRAIN` or
    :data:`SUPERVISED`). A checkpoint written before the record is recognised by the
    supervised classifier's keys; an export folder before it counts as :data:`PRETRAIN`
    (:func:`load_embedder` still refuses a binge-export-3 whose ``objective_heads`` list is
    empty while its objective has heads, as a supervised export's is)."""
    path = Path(path)
    if path.is_dir():
        return str(_read_meta(path).get("trained_by", PRETRAIN))
    from binge.train.checkpoint import load_checkpoint

    return SUPERVISED if _is_supervised_state(load_checkpoint(path)) else PRETRAIN


def _no_heads(path: Path, why: str) -> NoProjectionHeadsError:
    return NoProjectionHeadsError(
        f"{path}: {why}, so it has no projection heads (Eq. 1's h_f, h_g) and no embedding space z "
        "for binge embed / discrepancy / search; probe its encoder features with `binge evaluate "
        f"--checkpoint {path}`, or pass a `binge pretrain` run's export")


#: export formats this binge reads (``config.json``'s ``format``).
FORMATS = ("binge-export-1", "binge-export-2", "binge-export-3")


def read_export_meta(folder: str | Path) -> dict[str, Any]:
    """``config.json`` of an export folder, checked: JSON, a known ``format``, a ``config``
    mapping, and its parts agreeing with each other. Raises :class:`ExportError` (or
    ``FileNotFoundError`` when there is no ``config.json``) naming the file and the fix."""
    return _read_meta(Path(folder))


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} is not a binge export (no config.json); pass the export/ folder written "
            "by `binge pretrain` or a checkpoint .pt file"
        )
    try:
        meta = json.loads(path.read_text())
    except ValueError as err:
        raise ExportError(f"{path} is not JSON ({err}); re-export the run (the export folder is "
                          "damaged)") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise ExportError(f"{path} has no 'config' mapping; re-export the run")
    if "format" in meta and meta["format"] not in FORMATS:
        raise ExportError(f"{path}: export format {meta['format']!r} is not one this binge reads "
                          f"({', '.join(FORMATS)}); use the binge that wrote it, or re-export")
    for part in ("video", "audio"):
        if part in meta and not isinstance(meta[part], dict):
            raise ExportError(f"{path}: '{part}' must be a mapping (name, kwargs), got "
                              f"{meta[part]!r}; the export was altered: re-export the run")
    _check_parts(meta, path)
    return meta


def _check_parts(meta: dict[str, Any], path: Path) -> None:
    """The parts of ``config.json`` must agree: the encoders it names (``video`` / ``audio``:
    name and constructor arguments) are those of its ``config.model``, and ``embed_dim`` too.
    Raises :class:`ExportError` naming the first disagreement."""
    model = meta["config"].get("model", {}) if isinstance(meta["config"].get("model"), dict) else {}
    for part in ("video", "audio"):
        spec = meta.get(part)
        if not isinstance(spec, dict):
            continue  # older exports did not record the encoders apart from the config
        name, kwargs = model.get(part), model.get(f"{part}_kwargs") or {}
        if name is not None and spec.get("name") != name:
            raise ExportError(f"{path}: the {part} encoder is {spec.get('name')!r} but "
                              f"config.model.{part} says {name!r}; the export was altered: "
                              "re-export the run")
        differ = sorted(k for k in kwargs if k in (spec.get("kwargs") or {})
                        and spec["kwargs"][k] != kwargs[k])
        if differ:
            raise ExportError(f"{path}: the {part} encoder was built with {differ[0]}="
                              f"{spec['kwargs'][differ[0]]!r} but config.model.{part}_kwargs says "
                              f"{kwargs[differ[0]]!r}; re-export the run")
    if "embed_dim" in meta and "embed_dim" in model and meta["embed_dim"] != model["embed_dim"]:
        raise ExportError(f"{path}: embed_dim {meta['embed_dim']} but config.model.embed_dim "
                          f"{model['embed_dim']}; the export was altered: re-export the run")


def _load_part(module: nn.Module, file: Path) -> None:
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing from the export folder; re-run the export")
    try:
        missing, unexpected = module.load_state_dict(load_file(str(file)), strict=False)
    except (RuntimeError, OSError, SafetensorError) as err:  # widths differ; not safetensors
        first = str(err).strip().splitlines()
        raise ExportError(f"{file} does not fit the model in config.json ("
                          f"{first[-1].strip() if first else type(err).__name__}); the export "
                          "folder is inconsistent: re-export the run") from None
    if missing or unexpected:
        raise ExportError(
            f"{file} does not fit the model in config.json (missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}); the export folder is inconsistent"
        )


def load_pretrained(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """The pretrained :class:`~binge.models.AVModel` from an export folder or a checkpoint, in eval mode."""
    from binge.models import build_av_model

    path = Path(path)
    if path.is_dir():
        meta = _read_meta(path)
        cfg = from_dict(Config, meta["config"], f"{path / 'config.json'}:config")
        try:
            model = build_av_model(cfg.model)
        except KeyError as err:  # a model name this binge does not have (a tampered export?)
            raise ExportError(f"{path / 'config.json'}: {err.args[0]}; the export needs the "
                              "encoders it was trained with (--import their plug-in)") from None
        for part in PARTS:
            _check_input(path / f"{part}.safetensors", part, meta["config"])
            _load_part(getattr(model, part), path / f"{part}.safetensors")
    else:
        from binge.train.checkpoint import load_checkpoint

        state = load_checkpoint(path)
        if "model" not in state or "config" not in state:
            raise ValueError(f"{path} has no model/config entries; pass a binge pretrain checkpoint")
        cfg = from_dict(Config, state["config"], f"{path}:config")
        model = build_av_model(cfg.model)
        from binge.models.av import split_legacy_heads

        encoders = state["model"]
        if _is_supervised_state(state):  # SupervisedStep: the AVModel under "model." + classifiers
            encoders = {k[len("model."):]: v for k, v in encoders.items() if k.startswith("model.")}
        try:
            model.load_state_dict(split_legacy_heads(encoders)[0])  # older: heads in the model
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            raise ExportError(f"{path} does not fit the model of its own config ("
                              f"{first[0].strip() if first else type(err).__name__} …); pass a "
                              "checkpoint of `binge pretrain` or `binge supervised`") from None
    return model.to(map_location).eval()


def load_encoder(
    path: str | Path,
    modality: Literal["video", "audio"],
    map_location: str | torch.device = "cpu",
) -> nn.Module:
    """One pretrained encoder (f for ``"video"``, g for ``"audio"``), without its head, in eval mode."""
    if modality not in ("video", "audio"):
        raise ValueError(f"modality must be 'video' or 'audio', got {modality!r}")
    path = Path(path)
    if not path.is_dir():
        return getattr(load_pretrained(path, map_location), f"{modality}_encoder")
    from binge.models import create_model

    meta = _read_meta(path)
    encoder = create_model(meta[modality]["name"], **meta[modality]["kwargs"])
    _check_input(path / f"{modality}_encoder.safetensors", f"{modality}_encoder", meta["config"])
    _load_part(encoder, path / f"{modality}_encoder.safetensors")
    return encoder.to(map_location).eval()


class Embedder(nn.Module):
    """An AVModel and the objective it was trained with: ``embed_video`` / ``embed_audio`` give
    the space the objective's similarity measures (its own heads where it has them)."""

    def __init__(self, model: nn.Module, objective: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def embed_video(self, video: torch.Tensor) -> torch.Tensor:
        return self.objective.embed_video(self.model, video)

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        return self.objective.embed_audio(self.model, audio)


def inference_objective(cfg: Config, model: nn.Module) -> nn.Module:
    """``cfg.objective``'s objective built to hold its heads (``Objective.for_inference``)."""
    from binge.objectives import get_objective

    return get_objective(cfg.objective.name).cls.for_inference(cfg, model)


def _load_heads(objective: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    for name, head in objective.heads().items():
        if not head.state_dict():  # an identity head: nothing was trained or written
            continue
        part = {k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")}
        missing, unexpected = head.load_state_dict(part, strict=False)
        if missing or unexpected or not part:
            raise ValueError(f"{where}: the {objective.name!r} head {name!r} does not fit "
                             f"(missing {missing[:4]}, unexpected {unexpected[:4]})")


def load_embedder(path: str | Path, map_location: str | torch.device = "cpu") -> Embedder:
    """The :class:`Embedder` of an export folder or a checkpoint, in eval mode.

    Raises:
        NoProjectionHeadsError: ``path`` is an export or checkpoint of ``binge supervised``
            (encoders only; see :func:`trained_by`).
        ValueError: the objective trains heads of its own but the export has neither
            ``objective_heads.safetensors`` nor (for Eq. 1's heads, ``legacy_model_heads``)
            the ``video_head`` / ``audio_head.safetensors`` of binge-export-1/2 (measure the
            run's checkpoint instead).
    """
    path = Path(path)
    supervised = "this is a `binge supervised` run (encoders trained with labels)"
    meta = _read_meta(path) if path.is_dir() else None
    if meta is not None and meta.get("trained_by", PRETRAIN) == SUPERVISED:
        raise _no_heads(path, supervised)
    model = load_pretrained(path)
    if meta is not None:
        cfg = from_dict(Config, meta["config"], f"{path / 'config.json'}:config")
        objective = inference_objective(cfg, model)
        if objective.heads():
            file = path / OBJECTIVE_HEADS
            if not file.is_file() and meta.get("objective_heads") == []:
                # binge-export-3 lists the heads it wrote: none, for the objective's own heads
                raise _no_heads(path, f"its config.json lists no objective_heads though objective "
                                      f"{cfg.objective.name!r} has some (a `binge supervised` export)")
            legacy = [path / f"{part}.safetensors" for part in LEGACY_HEAD_PARTS]
            if not file.is_file() and objective.legacy_model_heads and all(f.is_file() for f in legacy):
                # binge-export-1/2: Eq. 1's heads were the model's, one file each
                _load_heads(objective, {f"{part}.{k}": v for part, f in zip(LEGACY_HEAD_PARTS, legacy)
                                        for k, v in load_file(str(f)).items()}, str(legacy[0]))
            elif not file.is_file():
                raise ValueError(
                    f"{path}: objective {cfg.objective.name!r} trains heads of its own, but this "
                    f"export has no {OBJECTIVE_HEADS} (written before binge-export-2); pass the "
                    "run's checkpoint (checkpoints/last.pt) instead"
                )
            else:
                _load_heads(objective, load_file(str(file)), str(file))
    else:
        from binge.train.checkpoint import load_checkpoint

        state = load_checkpoint(path)
        if _is_supervised_state(state):
            raise _no_heads(path, supervised)
        cfg = from_dict(Config, state["config"], f"{path}:config")
        objective = inference_objective(cfg, model)
        if objective.heads():  # a checkpoint from before the move holds Eq. 1's heads in "model"
            _, objective_state = objective.adopt_legacy_state(state["model"], state.get("objective", {}))
            _load_heads(objective, objective_state, str(path))
    return Embedder(model, objective).to(map_location).eval()
