"""Building blocks against independent references (colorsys, scipy, plain NumPy)."""

from __future__ import annotations

import colorsys

import numpy as np
from scipy.io import wavfile

from binge.world import EVENT_CLASSES
from binge.world.audio import apply_tilt
from binge.world.encode import write_wav
from binge.world.events import periodic_times
from binge.world.render import blob, hsv_to_rgb


def test_hsv_to_rgb_matches_colorsys():
    rng = np.random.default_rng(0)
    hsv = rng.uniform(size=(200, 3))
    ours = hsv_to_rgb(hsv[:, 0], hsv[:, 1], hsv[:, 2])
    ref = np.array([colorsys.hsv_to_rgb(*row) for row in hsv])
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_tilt_gains_6db_per_octave_around_1khz():
    sr, n = 16000, 16000
    t = np.arange(n) / sr
    for f, gain in ((2000.0, 2.0), (500.0, 0.5), (1000.0, 1.0)):
        y = apply_tilt(np.sin(2 * np.pi * f * t).astype(np.float32), sr, 6.0206)
        assert abs(np.sqrt(2 * np.mean(y**2)) - gain) < 0.01


def test_wav_round_trip_with_scipy(tmp_path):
    x = (0.5 * np.sin(np.arange(2205) / 5.0)).astype(np.float32)
    write_wav(tmp_path / "a.wav", x, 22050)
    sr, y = wavfile.read(tmp_path / "a.wav")
    assert sr == 22050 and y.dtype == np.int16
    np.testing.assert_allclose(y / 32767, x, atol=1 / 32767)
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]  # no temporary left


def test_disc_area_is_pi_r_squared():
    canvas = np.zeros((64, 64, 3), np.float32)
    blob(canvas, 30.3, 31.7, 10.0, (1, 1, 1))
    assert abs(canvas[..., 0].sum() - np.pi * 100) < 0.02 * np.pi * 100


def test_onsets_are_the_periodic_times_inside_the_scene():
    t = periodic_times(phase=2.3, period=0.7, dur=3.0)
    ref = [x for x in (2.3 + 0.7 * np.arange(-10, 10)) if 0 <= x < 3.0]
    np.testing.assert_allclose(t, ref)
    rng = np.random.default_rng(1)
    for ev in EVENT_CLASSES:
        p = ev.sample(rng, 160, 120)
        on = ev.onsets(p, 10.0)
        assert on.size >= 5 and np.all(np.diff(on) >= 0.25), ev.name
        assert ev.sound(p, 10.0, 8000, rng).shape == (80000,)
