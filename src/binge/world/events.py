"""The semantic audio-visual event classes of the TV world.

Each class couples a visual motion signature with a sound driven by the *same* motion
variables (paper §1: audio-visual correspondence is the self-supervision signal; the
events are what a good representation should capture, unlike the content-exclusive
artifacts of :mod:`binge.world.style`, paper §3 "Sampling Policy" and footnote 4).

An event instance is a plain dict of parameters (JSON-serialisable, written to the ground
truth). All motion is periodic with period ≥ 0.5 s, so it stays visible at 5 fps.
Geometry is in pixels of the title's canvas; ``u = height / 120`` scales every size.

``onsets(p, dur)`` returns the times (s, scene-relative) of the motion-locked acoustic
events: the ball touches the floor, the pendulum reaches an extreme, the wheel's marker
passes the top, the shape pulses, the lamp switches on, the object lands, the block
reverses, the rocket launches. The sound is built around exactly these times.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from binge.world import audio as A
from binge.world import render as R

DARK = (0.05, 0.05, 0.05)


def periodic_times(phase: float, period: float, dur: float) -> np.ndarray:
    """All t = phase + k·period (k ∈ ℤ) with 0 ≤ t < dur."""
    first = phase % period
    return np.arange(first, dur, period, dtype=np.float64)


def last_time_before(t: float, phase: float, period: float) -> float:
    """The latest t_k = phase + k·period with t_k ≤ t."""
    return phase + np.floor((t - phase) / period) * period


def _color(rng: np.random.Generator) -> list[float]:
    rgb = R.hsv_to_rgb(rng.uniform(), rng.uniform(0.6, 1.0), rng.uniform(0.75, 1.0))
    return [round(float(c), 4) for c in rgb]


def _outlined(canvas, cx, cy, r, color, shape="circle"):
    R.blob(canvas, cx, cy, r + 1.2, DARK, shape)
    R.blob(canvas, cx, cy, r, color, shape)


def _place(rng: np.random.Generator, w: int, h: int) -> tuple[float, float]:
    """Horizontal centre of the event (the middle of the frame) and its floor line."""
    return float(rng.uniform(0.42, 0.58) * w), float(rng.uniform(0.76, 0.86) * h)


def _scaled(sound: np.ndarray, gain: float) -> np.ndarray:
    return (sound * gain).astype(np.float32)


class EventClass:
    """One event class: ``sample`` → params, ``draw_static``/``draw`` → pixels,
    ``onsets`` → motion-locked event times, ``sound`` → the waveform they drive."""

    name: str = ""

    def sample(self, rng: np.random.Generator, w: int, h: int) -> dict:
        raise NotImplementedError

    def onsets(self, p: dict, dur: float) -> np.ndarray:
        raise NotImplementedError

    def draw_static(self, canvas: np.ndarray, p: dict) -> None:
        """Parts that do not move (floors, rails, rims): drawn once per scene."""

    def draw(self, canvas: np.ndarray, p: dict, t: float) -> None:
        raise NotImplementedError

    def sound(self, p: dict, dur: float, sr: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


def _impulses(dur: float, sr: int, times: np.ndarray, make: Callable[[], np.ndarray]) -> np.ndarray:
    out = np.zeros(int(round(dur * sr)), np.float32)
    for t in times:
        A.add_at(out, make(), int(round(t * sr)))
    return out


class BouncingBall(EventClass):
    """A ball on a parabolic bounce; a click + ring exactly at every floor contact."""

    name = "bouncing_ball"

    def sample(self, rng, w, h):
        u = h / 120
        cx, floor = _place(rng, w, h)
        r = rng.uniform(7, 11) * u
        return dict(cx=cx, floor=floor, r=r, height=rng.uniform(0.35, 0.5) * h,
                    period=rng.uniform(0.6, 1.2), phase=rng.uniform(0, 1.2), color=_color(rng),
                    pitch=rng.uniform(600, 1600), gain=rng.uniform(0.6, 1.0),
                    box=[cx - 3 * r, floor - r - 0.5 * h - r, cx + 3 * r, floor + 2 * u])

    def onsets(self, p, dur):
        return periodic_times(p["phase"], p["period"], dur)

    def draw_static(self, canvas, p):
        u = canvas.shape[0] / 120
        R.line(canvas, p["cx"] - 3 * p["r"], p["floor"], p["cx"] + 3 * p["r"], p["floor"], 2.5 * u, DARK)

    def draw(self, canvas, p, t):
        x = ((t - p["phase"]) % p["period"]) / p["period"]
        y = p["floor"] - p["r"] - 4 * p["height"] * x * (1 - x)
        _outlined(canvas, p["cx"], y, p["r"], p["color"])

    def sound(self, p, dur, sr, rng):
        def click():
            return A.mix(
                0.5 * A.noise_burst(rng, sr, 0.008, 2000, 8000),
                0.7 * A.decaying_tone(sr, p["pitch"], 0.05, harmonics=(1.0, 0.4)),
            )
        return _scaled(_impulses(dur, sr, self.onsets(p, dur), click), p["gain"])


class Pendulum(EventClass):
    """A swinging pendulum; a tone whose pitch follows the bob's horizontal position,
    and a tick at each extreme of the swing."""

    name = "pendulum"

    def sample(self, rng, w, h):
        u = h / 120
        cx = float(rng.uniform(0.47, 0.53) * w)
        top = rng.uniform(0.12, 0.22) * h
        length = rng.uniform(0.4, 0.5) * h
        amp = rng.uniform(0.45, 0.7)
        reach = length * np.sin(amp) + 10 * u
        return dict(cx=cx, top=top, length=length, amp=amp, period=rng.uniform(1.1, 2.0),
                    phase=rng.uniform(0, 2.0), r=rng.uniform(6, 9) * u, color=_color(rng),
                    pitch=rng.uniform(300, 700), glide=rng.uniform(0.3, 0.6), gain=rng.uniform(0.6, 1.0),
                    box=[cx - reach, top - 3 * u, cx + reach, top + length + 10 * u])

    def _angle(self, p, t):
        return p["amp"] * np.sin(2 * np.pi * (np.asarray(t) - p["phase"]) / p["period"])

    def onsets(self, p, dur):
        return periodic_times(p["phase"] + p["period"] / 4, p["period"] / 2, dur)

    def draw_static(self, canvas, p):
        u = canvas.shape[0] / 120
        R.rect(canvas, p["cx"] - 6 * u, p["top"] - 3 * u, p["cx"] + 6 * u, p["top"], DARK)

    def draw(self, canvas, p, t):
        th = float(self._angle(p, t))
        x = p["cx"] + p["length"] * np.sin(th)
        y = p["top"] + p["length"] * np.cos(th)
        R.line(canvas, p["cx"], p["top"], x, y, 1.6 * canvas.shape[0] / 120, DARK)
        _outlined(canvas, x, y, p["r"], p["color"])

    def sound(self, p, dur, sr, rng):
        t = np.arange(int(round(dur * sr))) / sr
        pos = np.sin(self._angle(p, t)) / np.sin(p["amp"])  # −1 … 1, the bob's x
        glide = 0.15 * A.tone_from_track(p["pitch"] * 2.0 ** (p["glide"] * pos), sr, (1.0, 0.3))

        def tick():
            return A.mix(
                0.6 * A.noise_burst(rng, sr, 0.006, 1500, 7000),
                1.0 * A.decaying_tone(sr, 2.5 * p["pitch"], 0.03),
            )
        return _scaled(glide + _impulses(dur, sr, self.onsets(p, dur), tick), p["gain"])


class SpinningWheel(EventClass):
    """A wheel with one marked spoke; a hum amplitude-modulated at the rotation rate,
    loudest when the marker passes the top."""

    name = "spinning_wheel"

    def sample(self, rng, w, h):
        u = h / 120
        cx = float(rng.uniform(0.42, 0.58) * w)
        cy = rng.uniform(0.4, 0.6) * h
        rad = rng.uniform(15, 22) * u
        return dict(cx=cx, cy=cy, radius=rad, rate=rng.uniform(0.45, 1.1), direction=float(rng.choice([-1, 1])),
                    phase=rng.uniform(0, 2.0), color=_color(rng), rim=_color(rng),
                    pitch=rng.uniform(110, 260), gain=rng.uniform(0.6, 1.0),
                    box=[cx - rad - 5 * u, cy - rad - 5 * u, cx + rad + 5 * u, cy + rad + 5 * u])

    def onsets(self, p, dur):
        return periodic_times(p["phase"], 1.0 / p["rate"], dur)

    def _alpha(self, p, t):
        return 2 * np.pi * p["rate"] * (np.asarray(t) - p["phase"])

    def draw_static(self, canvas, p):
        u = canvas.shape[0] / 120
        R.ring(canvas, p["cx"], p["cy"], p["radius"], 3 * u, p["rim"])

    def draw(self, canvas, p, t):
        u = canvas.shape[0] / 120
        a = p["direction"] * float(self._alpha(p, t))
        x, y = p["cx"] + p["radius"] * np.sin(a), p["cy"] - p["radius"] * np.cos(a)
        R.line(canvas, p["cx"], p["cy"], x, y, 3 * u, DARK)
        _outlined(canvas, x, y, 4.5 * u, p["color"])
        R.blob(canvas, p["cx"], p["cy"], 3 * u, DARK)

    def sound(self, p, dur, sr, rng):
        t = np.arange(int(round(dur * sr))) / sr
        env = ((1 + np.cos(self._alpha(p, t))) / 2) ** 4
        hum = A.tone_from_track(np.full(t.shape, p["pitch"]), sr, (1.0, 0.6, 0.4, 0.3))
        return _scaled(0.45 * env * hum, p["gain"])


class PulsingShape(EventClass):
    """A shape that swells at every pulse and relaxes; a tone burst with the same envelope."""

    name = "pulsing_shape"
    TAU = 0.22

    def sample(self, rng, w, h):
        u = h / 120
        cx = float(rng.uniform(0.42, 0.58) * w)
        cy = rng.uniform(0.4, 0.6) * h
        size = rng.uniform(7, 10) * u
        return dict(cx=cx, cy=cy, size=size, shape=str(rng.choice(R.SHAPES)), period=rng.uniform(0.6, 1.3),
                    phase=rng.uniform(0, 1.3), color=_color(rng), pitch=rng.uniform(400, 1100),
                    gain=rng.uniform(0.6, 1.0),
                    box=[cx - 2 * size - 3 * u, cy - 2 * size - 3 * u, cx + 2 * size + 3 * u, cy + 2 * size + 3 * u])

    def onsets(self, p, dur):
        return periodic_times(p["phase"], p["period"], dur)

    def draw(self, canvas, p, t):
        since = t - last_time_before(t, p["phase"], p["period"])
        s = p["size"] * (1 + 0.9 * np.exp(-since / self.TAU))
        _outlined(canvas, p["cx"], p["cy"], s, p["color"], p["shape"])

    def sound(self, p, dur, sr, rng):
        def burst():
            return 0.55 * A.decaying_tone(sr, p["pitch"], self.TAU, harmonics=(1.0, 0.3))
        return _scaled(_impulses(dur, sr, self.onsets(p, dur), burst), p["gain"])


class FlashingLamp(EventClass):
    """A lamp that switches on briefly every period; a noise burst while it is lit."""

    name = "flashing_lamp"

    def sample(self, rng, w, h):
        u = h / 120
        cx = float(rng.uniform(0.4, 0.6) * w)
        cy = rng.uniform(0.3, 0.55) * h
        r = rng.uniform(8, 11) * u
        return dict(cx=cx, cy=cy, r=r, period=rng.uniform(0.7, 1.5), on=rng.uniform(0.2, 0.32),
                    phase=rng.uniform(0, 1.5), color=_color(rng), gain=rng.uniform(0.6, 1.0),
                    band=[float(rng.uniform(800, 1500)), float(rng.uniform(4000, 7000))],
                    box=[cx - 2.3 * r, cy - 2.3 * r, cx + 2.3 * r, cy + 2.3 * r])

    def onsets(self, p, dur):
        return periodic_times(p["phase"], p["period"], dur)

    def draw_static(self, canvas, p):
        r = p["r"]
        R.rect(canvas, p["cx"] - 1.3 * r, p["cy"] - 1.3 * r, p["cx"] + 1.3 * r, p["cy"] + 1.3 * r, DARK)

    def draw(self, canvas, p, t):
        lit = t - last_time_before(t, p["phase"], p["period"]) < p["on"]
        c = np.asarray(p["color"], np.float32)
        if lit:
            R.blob(canvas, p["cx"], p["cy"], 2.2 * p["r"], np.minimum(c + 0.5, 1.0), alpha=0.45)
            R.blob(canvas, p["cx"], p["cy"], p["r"], np.minimum(c + 0.3, 1.0))
        else:
            R.blob(canvas, p["cx"], p["cy"], p["r"], 0.25 * c)

    def sound(self, p, dur, sr, rng):
        n_on, n_rel = int(p["on"] * sr), int(0.03 * sr)
        env = np.concatenate([np.ones(n_on), np.exp(-np.arange(n_rel) / (0.008 * sr))])
        env[: int(0.003 * sr)] = np.linspace(0, 1, int(0.003 * sr))

        def hiss():
            return 0.45 * A.band_noise(rng, env.shape[0], sr, *p["band"]) * env
        return _scaled(_impulses(dur, sr, self.onsets(p, dur), hiss), p["gain"])


class FallingObject(EventClass):
    """An object falls (accelerating) and lands; a falling whistle, then a thud at landing."""

    name = "falling_object"

    def sample(self, rng, w, h):
        u = h / 120
        cx, floor = _place(rng, w, h)
        r = rng.uniform(7, 10) * u
        fall = rng.uniform(0.6, 0.9)
        rest = rng.uniform(0.2, 0.35)
        top = rng.uniform(0.1, 0.18) * h
        return dict(cx=cx, floor=floor, top=top, r=r, fall=fall, period=fall + rest,
                    phase=rng.uniform(0, 1.3), shape=str(rng.choice(R.SHAPES)), color=_color(rng),
                    pitch=rng.uniform(70, 160), whistle=rng.uniform(900, 1600), gain=rng.uniform(0.6, 1.0),
                    box=[cx - 3 * r, top - r - 2 * u, cx + 3 * r, floor + 2 * u])

    def onsets(self, p, dur):
        return periodic_times(p["phase"], p["period"], dur)

    def _y(self, p, t):
        """Object centre at time(s) t; at rest on the floor from each landing onwards."""
        t = np.asarray(t, np.float64)
        since_land = (t - p["phase"]) % p["period"]
        to_land = p["period"] - since_land  # time left before the next landing
        frac = np.clip(1 - to_land / p["fall"], 0, 1)  # 0 at release, 1 at landing
        rest_y = p["floor"] - p["r"]
        falling = to_land <= p["fall"]
        return np.where(falling, p["top"] + (rest_y - p["top"]) * frac**2, rest_y), falling, frac

    def draw_static(self, canvas, p):
        u = canvas.shape[0] / 120
        R.line(canvas, p["cx"] - 3 * p["r"], p["floor"], p["cx"] + 3 * p["r"], p["floor"], 2.5 * u, DARK)

    def draw(self, canvas, p, t):
        y, _, _ = self._y(p, t)
        _outlined(canvas, p["cx"], float(y), p["r"], p["color"], p["shape"])

    def sound(self, p, dur, sr, rng):
        t = np.arange(int(round(dur * sr))) / sr
        _, falling, frac = self._y(p, t)
        whistle = 0.1 * falling * A.tone_from_track(p["whistle"] * 2.0 ** (-1.2 * frac), sr)

        def thud():
            return A.mix(
                0.9 * A.decaying_tone(sr, p["pitch"], 0.08, harmonics=(1.0, 0.5, 0.25)),
                0.4 * A.noise_burst(rng, sr, 0.02, 100, 1500),
            )
        return _scaled(whistle + _impulses(dur, sr, self.onsets(p, dur), thud), p["gain"])


class SlidingBlock(EventClass):
    """A block sliding back and forth on a rail; friction noise while it moves and a knock
    at each reversal."""

    name = "sliding_block"

    def sample(self, rng, w, h):
        u = h / 120
        cx = float(rng.uniform(0.47, 0.53) * w)
        rail = rng.uniform(0.45, 0.75) * h
        amp = rng.uniform(18, 26) * u
        bw, bh = rng.uniform(7, 10) * u, rng.uniform(6, 9) * u
        return dict(cx=cx, rail=rail, amp=amp, half_period=rng.uniform(0.5, 1.0), phase=rng.uniform(0, 1.0),
                    bw=bw, bh=bh, color=_color(rng), pitch=rng.uniform(250, 600), gain=rng.uniform(0.6, 1.0),
                    box=[cx - amp - bw - 3 * u, rail - 2 * bh - 2 * u, cx + amp + bw + 3 * u, rail + 3 * u])

    def onsets(self, p, dur):
        return periodic_times(p["phase"], p["half_period"], dur)

    def draw_static(self, canvas, p):
        u = canvas.shape[0] / 120
        x0, x1 = p["cx"] - p["amp"] - p["bw"] - 2 * u, p["cx"] + p["amp"] + p["bw"] + 2 * u
        R.line(canvas, x0, p["rail"], x1, p["rail"], 2.0 * u, DARK)
        for x in (x0, x1):
            R.rect(canvas, x - 1.5 * u, p["rail"] - 2 * p["bh"], x + 1.5 * u, p["rail"], DARK)

    def draw(self, canvas, p, t):
        x = ((t - p["phase"]) / (2 * p["half_period"])) % 1.0
        pos = p["cx"] + p["amp"] * (1 - 4 * abs(x - 0.5))  # reversals at x = 0 and x = 0.5
        y = p["rail"] - p["bh"] - 1
        R.rect(canvas, pos - p["bw"] - 1, y - p["bh"] - 1, pos + p["bw"] + 1, y + p["bh"] + 1, DARK)
        R.rect(canvas, pos - p["bw"], y - p["bh"], pos + p["bw"], y + p["bh"], p["color"])

    def sound(self, p, dur, sr, rng):
        n = int(round(dur * sr))
        friction = 0.05 * A.band_noise(rng, n, sr, 300, 2000)

        def knock():
            return A.mix(
                0.7 * A.decaying_tone(sr, p["pitch"], 0.04, harmonics=(1.0, 0.7, 0.3)),
                0.3 * A.noise_burst(rng, sr, 0.006, 1000, 6000),
            )
        return _scaled(friction + _impulses(dur, sr, self.onsets(p, dur), knock), p["gain"])


class LaunchingRocket(EventClass):
    """A rocket waits on its pad, launches and climbs out of view; an ignition blast at
    launch, then a rising roar whose pitch follows the height."""

    name = "launching_rocket"

    def sample(self, rng, w, h):
        u = h / 120
        cx, pad = _place(rng, w, h)
        r = rng.uniform(6, 9) * u
        climb = rng.uniform(0.7, 1.0)
        return dict(cx=cx, pad=pad, r=r, climb=climb, period=climb + rng.uniform(0.25, 0.45),
                    phase=rng.uniform(0, 1.4), color=_color(rng), pitch=rng.uniform(200, 400),
                    gain=rng.uniform(0.6, 1.0), box=[cx - 3 * r, 0.0, cx + 3 * r, pad + 2 * u])

    def onsets(self, p, dur):
        return periodic_times(p["phase"], p["period"], dur)

    def _state(self, p, t):
        since = (np.asarray(t, np.float64) - p["phase"]) % p["period"]
        climbing = since < p["climb"]
        frac = np.clip(since / p["climb"], 0, 1)
        return climbing, frac

    def draw_static(self, canvas, p):
        u = canvas.shape[0] / 120
        R.rect(canvas, p["cx"] - 3 * p["r"], p["pad"], p["cx"] + 3 * p["r"], p["pad"] + 2.5 * u, DARK)

    def draw(self, canvas, p, t):
        climbing, frac = self._state(p, t)
        base_y = p["pad"] - 1.6 * p["r"]
        y = base_y - (base_y + 3 * p["r"]) * float(frac) ** 2 if climbing else base_y
        if climbing:
            R.blob(canvas, p["cx"], y + 1.6 * p["r"], 0.8 * p["r"], (1.0, 0.6, 0.1))
        R.rect(canvas, p["cx"] - 0.7 * p["r"] - 1, y - 1.6 * p["r"] - 1, p["cx"] + 0.7 * p["r"] + 1, y + 1.2 * p["r"] + 1, DARK)
        R.rect(canvas, p["cx"] - 0.7 * p["r"], y - 1.6 * p["r"], p["cx"] + 0.7 * p["r"], y + 1.2 * p["r"], p["color"])
        R.blob(canvas, p["cx"], y - 1.6 * p["r"], 0.7 * p["r"], p["color"], "diamond")

    def sound(self, p, dur, sr, rng):
        t = np.arange(int(round(dur * sr))) / sr
        climbing, frac = self._state(p, t)
        roar = 0.12 * climbing * A.tone_from_track(p["pitch"] * 2.0 ** (1.3 * frac), sr, (1.0, 0.5, 0.3))

        def blast():
            return 0.8 * A.noise_burst(rng, sr, 0.05, 150, 5000)
        return _scaled(roar + _impulses(dur, sr, self.onsets(p, dur), blast), p["gain"])


#: the world's event classes, in class-index order (the downstream label order).
EVENT_CLASSES: tuple[EventClass, ...] = (
    BouncingBall(), Pendulum(), SpinningWheel(), PulsingShape(),
    FlashingLamp(), FallingObject(), SlidingBlock(), LaunchingRocket(),
)
EVENT_NAMES: tuple[str, ...] = tuple(e.name for e in EVENT_CLASSES)


def event_class(name: str) -> EventClass:
    """The event class called ``name`` (see :data:`EVENT_NAMES`)."""
    for e in EVENT_CLASSES:
        if e.name == name:
            return e
    raise KeyError(f"unknown event class {name!r}; known: {EVENT_NAMES}")
