"""The one log-mel implementation of binge (paper §4.1 "Pretraining": 96 mel filters,
FFT window 2048, hop 512 at 48 kHz; the tiny config scales these down).

Every setting is pinned, because library defaults differ (torchaudio: HTK scale, no
norm, reflect padding; librosa: Slaney scale and norm, constant padding):

* STFT: ``torch.stft`` with a periodic Hann window of ``n_fft`` samples, hop
  ``hop_length``, ``center=True`` with **zero (constant) padding** of ``n_fft // 2`` on
  both sides — librosa's default since 0.10;
* power spectrogram ``|X|²``;
* mel filterbank from ``librosa.filters.mel`` (Slaney mel scale, Slaney area norm,
  ``fmin = 0``, ``fmax = sample_rate / 2``);
* ``log(mel_power + LOG_EPS)`` with the natural logarithm and ``LOG_EPS = 1e-6``.

Time mapping: frame ``t`` is centred on sample ``t · hop_length``, i.e. on time
``t · hop_length / sample_rate`` seconds; a signal of ``N`` samples gives
``1 + N // hop_length`` frames (:func:`num_frames`). Snippet ``m`` of length ``L`` s owns
the frames whose centres lie in ``[m·L, (m+1)·L)`` (:func:`snippet_frames`).

Log-mel (not power, which overflows fp16's 65 504) is what a corpus stores, in fp16.
With these settings :func:`log_mel` equals
``np.log(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop,
n_mels=n_mels) + LOG_EPS)`` to within 1e-4 absolute (asserted in tests/data/test_logmel.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

__all__ = [
    "LOG_EPS",
    "LogMelSettings",
    "mel_filterbank",
    "log_mel",
    "num_frames",
    "frames_per_snippet",
    "snippet_frames",
    "StreamingLogMel",
]

#: ε added to the mel power before the natural log: log(1e-6) ≈ −13.8 is digital silence.
LOG_EPS: float = 1e-6


@dataclass(frozen=True)
class LogMelSettings:
    """Pinned log-mel parameters; build one from a config with :meth:`from_config`."""

    sample_rate: int = 48_000
    n_mels: int = 96
    n_fft: int = 2048
    hop_length: int = 512

    @classmethod
    def from_config(cls, data) -> "LogMelSettings":
        """From a :class:`binge.config.DataConfig` (or anything with the same fields)."""
        return cls(int(data.sample_rate), int(data.n_mels), int(data.n_fft), int(data.hop_length))


@lru_cache(maxsize=16)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    import librosa

    basis = librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=sample_rate / 2.0,
        htk=False, norm="slaney", dtype=np.float64,
    )
    return torch.from_numpy(basis)  # (n_mels, n_fft // 2 + 1)


def mel_filterbank(settings: LogMelSettings, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The Slaney mel filterbank, shape (n_mels, n_fft // 2 + 1)."""
    return _mel_basis(settings.sample_rate, settings.n_fft, settings.n_mels).to(dtype)


def _frames_to_logmel(frames: torch.Tensor, settings: LogMelSettings) -> torch.Tensor:
    """Log-mel of already framed signal (no centring): (N,) → (n_mels, T)."""
    dtype = frames.dtype
    window = torch.hann_window(settings.n_fft, periodic=True, dtype=dtype)
    spec = torch.stft(
        frames, n_fft=settings.n_fft, hop_length=settings.hop_length, win_length=settings.n_fft,
        window=window, center=False, return_complex=True,
    )
    power = spec.real.square() + spec.imag.square()  # (n_fft // 2 + 1, T)
    mel = mel_filterbank(settings, dtype) @ power
    return torch.log(mel + LOG_EPS)


def log_mel(
    waveform: np.ndarray | torch.Tensor,
    settings: LogMelSettings,
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Log-mel spectrogram of a mono waveform.

    Args:
        waveform: (N,) samples in [-1, 1] at ``settings.sample_rate``.
        settings: the pinned parameters.
        dtype: computation precision (float32 by default; float64 for references).

    Returns:
        (n_mels, 1 + N // hop_length) array of ``log(mel power + LOG_EPS)`` in ``dtype``.
    """
    y = torch.as_tensor(np.asarray(waveform)).to(dtype)
    if y.ndim != 1:
        raise ValueError(f"log_mel expects a mono (N,) waveform, got shape {tuple(y.shape)}")
    pad = settings.n_fft // 2
    y = torch.nn.functional.pad(y, (pad, pad))  # constant (zero) padding, librosa's default
    return _frames_to_logmel(y, settings).numpy()


def num_frames(num_samples: int, hop_length: int) -> int:
    """Frames of a centred STFT of ``num_samples`` samples: ``1 + N // hop``."""
    return 1 + int(num_samples) // int(hop_length)


def frames_per_snippet(seconds: float, settings: LogMelSettings) -> int:
    """Q, the audio frames of one snippet of ``seconds`` s: ``round(L · sr / hop)``.

    Exact for the paper (3.2 s · 48 000 / 512 = 300) and the tiny config (200).
    """
    return int(round(seconds * settings.sample_rate / settings.hop_length))


def snippet_frames(m: int, seconds: float, settings: LogMelSettings) -> tuple[int, int]:
    """First frame and frame count ``(t0, Q)`` of snippet ``m``.

    ``t0 = ceil(m · L · sr / hop)`` is the first frame whose centre lies at or after
    ``m · L``; frames ``t0 … t0 + Q − 1`` cover the centres in ``[m·L, (m+1)·L)``.
    """
    t0 = math.ceil(m * seconds * settings.sample_rate / settings.hop_length - 1e-9)
    return t0, frames_per_snippet(seconds, settings)


class StreamingLogMel:
    """Log-mel of a long signal fed in chunks; the result equals :func:`log_mel` on the
    concatenated signal (same zero padding at both ends), without holding the waveform.

    >>> s = StreamingLogMel(LogMelSettings(16000, 64, 1024, 256))
    >>> parts = [s.push(chunk) for chunk in chunks]  # doctest: +SKIP
    >>> parts.append(s.finish())                      # doctest: +SKIP
    >>> np.concatenate(parts, axis=1)                 # (n_mels, 1 + N // hop)  # doctest: +SKIP
    """

    def __init__(self, settings: LogMelSettings, dtype: torch.dtype = torch.float32):
        self.settings = settings
        self.dtype = dtype
        self._buf = np.zeros(settings.n_fft // 2, dtype=np.float64)  # the left padding
        self.num_samples = 0
        self._finished = False

    def _emit(self) -> np.ndarray:
        n_fft, hop = self.settings.n_fft, self.settings.hop_length
        k = (len(self._buf) - n_fft) // hop + 1 if len(self._buf) >= n_fft else 0
        if k <= 0:
            return np.zeros((self.settings.n_mels, 0), dtype=np.float32)
        used = (k - 1) * hop + n_fft
        out = _frames_to_logmel(torch.from_numpy(self._buf[:used]).to(self.dtype), self.settings)
        self._buf = self._buf[k * hop:]
        return out.numpy()

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Add (n,) samples; returns the (n_mels, k) frames that became complete."""
        if self._finished:
            raise RuntimeError("StreamingLogMel.push after finish()")
        chunk = np.asarray(chunk, dtype=np.float64).reshape(-1)
        self.num_samples += len(chunk)
        self._buf = np.concatenate([self._buf, chunk])
        return self._emit()

    def finish(self) -> np.ndarray:
        """Pad the end with ``n_fft // 2`` zeros and return the remaining frames."""
        self._finished = True
        self._buf = np.concatenate([self._buf, np.zeros(self.settings.n_fft // 2)])
        return self._emit()
