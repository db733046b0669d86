"""Sound synthesis primitives for the procedural TV world (NumPy, mono float32).

All randomness comes from an explicit ``numpy.random.Generator`` so that a world is
reproducible under its seed.
"""

from __future__ import annotations

import numpy as np


def tone_from_track(freq: np.ndarray, sr: int, harmonics: tuple[float, ...] = (1.0,), phase0: float = 0.0) -> np.ndarray:
    """A harmonic tone whose instantaneous frequency follows ``freq`` (Hz, one per sample)."""
    cycles = (phase0 / (2 * np.pi) + np.cumsum(freq, dtype=np.float64) / sr) % 1.0
    out = np.zeros(freq.shape[0], np.float32)
    for k, amp in enumerate(harmonics, start=1):
        out += np.float32(amp) * np.sin(np.float32(2 * np.pi) * ((k * cycles) % 1.0).astype(np.float32))
    return out


def decaying_tone(
    sr: int, freq: float, tau: float, dur: float | None = None, harmonics: tuple[float, ...] = (1.0,)
) -> np.ndarray:
    """An impulse-excited partial series: sin(2π f t) · exp(−t/τ), instantaneous attack."""
    n = int(round((dur if dur is not None else 6 * tau) * sr))
    t = np.arange(n) / sr
    env = np.exp(-t / tau)
    out = sum(a * np.sin(2 * np.pi * freq * k * t) for k, a in enumerate(harmonics, start=1))
    return (out * env).astype(np.float32)


def noise_burst(rng: np.random.Generator, sr: int, tau: float, lo: float, hi: float, dur: float | None = None) -> np.ndarray:
    """Band-limited noise with an instantaneous attack and exponential decay (time const τ)."""
    n = int(round((dur if dur is not None else 6 * tau) * sr))
    env = np.exp(-np.arange(n) / (tau * sr))
    return (band_noise(rng, n, sr, lo, hi) * env).astype(np.float32)


def band_noise(rng: np.random.Generator, n: int, sr: int, lo: float, hi: float) -> np.ndarray:
    """White Gaussian noise band-passed to [lo, hi] Hz in the FFT domain, unit RMS."""
    if n <= 0:
        return np.zeros(0, np.float32)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    spec[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spec, n)
    rms = np.sqrt(np.mean(x * x)) + 1e-12
    return (x / rms).astype(np.float32)


def coloured_noise(rng: np.random.Generator, n: int, sr: int, slope_db_per_octave: float) -> np.ndarray:
    """Gaussian noise with a power spectrum tilted by ``slope`` dB/octave (0 = white), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    spec = spec * tilt_gain(np.fft.rfftfreq(n, 1 / sr), slope_db_per_octave)
    x = np.fft.irfft(spec, n)
    return (x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)


def tilt_gain(freqs: np.ndarray, db_per_octave: float, pivot_hz: float = 1000.0, floor_hz: float = 40.0) -> np.ndarray:
    """Amplitude gain of a spectral tilt of ``db_per_octave`` around ``pivot_hz``."""
    octaves = np.log2(np.maximum(freqs, floor_hz) / pivot_hz)
    return 10.0 ** (db_per_octave * octaves / 20.0)


def apply_tilt(x: np.ndarray, sr: int, db_per_octave: float) -> np.ndarray:
    """EQ tilt of a whole signal (mastering signature), applied in the FFT domain."""
    spec = np.fft.rfft(x.astype(np.float64))
    spec *= tilt_gain(np.fft.rfftfreq(x.shape[0], 1 / sr), db_per_octave)
    return np.fft.irfft(spec, x.shape[0]).astype(np.float32)


def add_at(buf: np.ndarray, kernel: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Mix ``kernel`` into ``buf`` from sample ``start`` (truncated at both ends)."""
    if start >= buf.shape[0] or start + kernel.shape[0] <= 0:
        return
    k0 = max(0, -start)
    s0 = max(start, 0)
    n = min(buf.shape[0] - s0, kernel.shape[0] - k0)
    buf[s0 : s0 + n] += gain * kernel[k0 : k0 + n]


def midi_to_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def mix(*parts: np.ndarray) -> np.ndarray:
    """Sum signals of different lengths (zero-padded to the longest)."""
    out = np.zeros(max(p.shape[0] for p in parts), np.float32)
    for p in parts:
        out[: p.shape[0]] += p
    return out
