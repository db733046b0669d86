"""The uniform encoder API shared by every video and audio backbone.

An encoder maps one modality to a feature map and a pooled vector (paper §3: f maps video to
R^{d_f}, g maps log-mel audio to R^{d_g}):

- ``forward_features(x)``: the last feature map, before pooling — (B, C, T', H', W') for
  video, (B, C, F', T') for audio;
- ``forward(x)``: that map globally average-pooled, (B, C);
- ``num_features``: C;
- ``input_spec``: an :class:`InputSpec` describing the input the model is configured for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Sequence

import torch
from torch import nn

from ..data.transforms import KINETICS_MEAN, KINETICS_STD

__all__ = ["InputSpec", "Encoder", "PlainConvEncoder", "KINETICS_MEAN", "KINETICS_STD", "init_weights"]


@dataclass(frozen=True)
class InputSpec:
    """The input an encoder is configured for (all models are fully convolutional and
    globally pooled, so other sizes also run; these are the sizes of the config it ships for).

    Video: ``(channels, frames, size, size)`` = (3, T, H, W), normalised with ``mean``/``std``
    per channel after scaling to [0, 1] (the Kinetics values of
    ``binge.data.transforms.video_to_float`` for every video model here).
    Audio: ``(channels, mel_bins, frames)`` = (1, P, Q), a log-mel image with P mel filters
    and Q STFT frames (paper §3 notation).
    """

    modality: Literal["video", "audio"]
    channels: int
    frames: int
    size: Optional[int] = None  # video: crop side H = W
    mel_bins: Optional[int] = None  # audio: P
    mean: Optional[tuple[float, ...]] = None  # video only
    std: Optional[tuple[float, ...]] = None  # video only

    def __post_init__(self) -> None:
        if self.modality == "video" and self.size is None:
            raise ValueError("a video InputSpec needs size (the crop side)")
        if self.modality == "audio" and self.mel_bins is None:
            raise ValueError("an audio InputSpec needs mel_bins")
        if self.modality not in ("video", "audio"):
            raise ValueError(f"modality must be 'video' or 'audio', got {self.modality!r}")

    @property
    def shape(self) -> tuple[int, ...]:
        """The per-sample input shape: (3, T, H, W) for video, (1, P, Q) for audio."""
        if self.modality == "video":
            return (self.channels, self.frames, self.size, self.size)  # type: ignore[return-value]
        return (self.channels, self.mel_bins, self.frames)  # type: ignore[return-value]

    @property
    def feature_dims(self) -> int:
        """Number of non-channel axes of the feature map: 3 (T', H', W') or 2 (F', T')."""
        return 3 if self.modality == "video" else 2


class Encoder(nn.Module):
    """Base class: subclasses set ``num_features``/``input_spec`` and implement
    ``forward_features``; ``forward`` global-average-pools it to (B, C)."""

    num_features: int
    input_spec: InputSpec

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, ...) → (B, num_features), the spatio-temporal mean of the last map."""
        return self.forward_features(x).flatten(2).mean(dim=2)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError naming the expected layout if ``x`` cannot be this input."""
        spec = self.input_spec
        ndim = 2 + len(spec.shape) - 1
        if x.ndim != ndim or x.shape[1] != spec.channels:
            layout = "(B, 3, T, H, W)" if spec.modality == "video" else "(B, 1, P, Q)"
            raise ValueError(
                f"{type(self).__name__} expects {spec.modality} input {layout} with "
                f"{spec.channels} channel(s); got a tensor of shape {tuple(x.shape)}"
            )


def init_weights(module: nn.Module) -> None:
    """torchvision's ResNet / VideoResNet initialisation, applied to every sub-module:
    convolutions ``kaiming_normal_(mode="fan_out", nonlinearity="relu")`` with zero bias,
    BatchNorm weight 1 and bias 0 (He et al. 2015)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def add_residual_stages(module: nn.Module, block: Callable[[int, int, int], nn.Module],
                        layers: Sequence[int], widths: Sequence[int]) -> None:
    """Add ``layer1..layer4`` to ``module``: stage i holds ``layers[i]`` blocks of width
    ``widths[i]``; the first block of every stage but the first downsamples (stride 2), as in
    ResNet (He et al. 2016) and R(2+1)D (Tran et al. 2018). ``block(in, out, stride)``."""
    in_planes = widths[0]
    for i, (depth, planes) in enumerate(zip(layers, widths)):
        stride = 1 if i == 0 else 2
        blocks = [block(in_planes, planes, stride)] + [block(planes, planes, 1) for _ in range(depth - 1)]
        module.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        in_planes = planes


class PlainConvEncoder(Encoder):
    """Four conv → BN → ReLU layers, no residuals: the ``*_micro`` encoders' shared body
    (models/video.py, models/audio.py). ``layer(in, out, stride)`` builds one layer and
    ``strides`` gives each layer's stride; ``forward_features`` returns the last layer's map
    (B, widths[-1], ...). Raises ValueError unless there are 4 widths and 4 strides."""

    def __init__(self, widths: Sequence[int], input_spec: InputSpec,
                 layer: Callable[[int, int, Any], nn.Module], strides: Sequence[Any]) -> None:
        super().__init__()
        if len(widths) != 4 or len(strides) != 4:
            raise ValueError(f"expected 4 widths and 4 strides, got {list(widths)}, {list(strides)}")
        chans = (input_spec.channels, *widths)
        self.layers = nn.Sequential(*(layer(chans[i], chans[i + 1], s) for i, s in enumerate(strides)))
        self.num_features = widths[-1]
        self.input_spec = input_spec
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.layers(x)
