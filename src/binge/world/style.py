"""Content-exclusive artifacts (paper §3 "Sampling Policy", footnote 4).

A :class:`ContentStyle` is constant through a title and shared by all episodes of a show:
colour grading and palette, background textures of its locations ("sets"), a recurring
main-character sprite with a voice, a theme-music motif over a constant pad, and an audio
mastering signature (EQ tilt, noise floor, hum, loudness). Movies get one style each (and
letterbox bars). These are the cheap cues that make negatives from other titles easy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from binge.world import audio as A
from binge.world import render as R

GENRES = ("comedy", "drama", "thriller", "cartoon", "documentary", "scifi")
TEXTURES = ("stripes", "checker", "blobs", "horizon", "dots", "bricks")

# genre → (saturation range, value range, music tempo range in BPM)
_GENRE_LOOK = {
    "comedy": ((0.35, 0.6), (0.6, 0.85), (110, 140)),
    "drama": ((0.15, 0.35), (0.4, 0.65), (70, 95)),
    "thriller": ((0.2, 0.45), (0.2, 0.42), (60, 90)),
    "cartoon": ((0.55, 0.85), (0.65, 0.95), (120, 160)),
    "documentary": ((0.1, 0.3), (0.45, 0.75), (80, 110)),
    "scifi": ((0.4, 0.7), (0.25, 0.5), (90, 125)),
}


def _r(x: float) -> float:
    return round(float(x), 5)


@dataclass
class ContentStyle:
    """All artifacts of one show (or movie); JSON-serialisable through ``asdict``."""

    genre: str
    hue: float
    sat: tuple[float, float]
    val: tuple[float, float]
    texture: str
    locations: list[dict]  # per location ("set"): texture parameters and colours
    grade_gain: list[float]
    grade_lift: list[float]
    grade_gamma: float
    grade_saturation: float
    vignette: float
    letterbox: float  # bar height as a fraction of the frame height (movies)
    character: dict  # sprite: shape, colour, size, side, hat colour; voice: f0, formants
    theme: dict  # motif (MIDI notes), tempo, timbre harmonics, pad chord
    master: dict  # tilt (dB/octave), noise level (dBFS) and slope, hum, peak level

    def to_json(self) -> dict:
        return asdict(self)


def sample_style(rng: np.random.Generator, genre: str, num_locations: int, movie: bool) -> ContentStyle:
    """Draw a show's (or a movie's) artifacts."""
    sat, val, tempo = _GENRE_LOOK[genre]
    hue = rng.uniform()
    locations = []
    for _ in range(num_locations):
        colours = [
            [_r(c) for c in R.hsv_to_rgb((hue + rng.normal(0, 0.06)) % 1, rng.uniform(*sat), rng.uniform(*val))]
            for _ in range(3)
        ]
        locations.append(dict(colours=colours, scale=_r(rng.uniform(6, 22)), angle=_r(rng.uniform(0, np.pi)),
                              contrast=_r(rng.uniform(0.25, 0.6)), seed=int(rng.integers(2**31))))
    root = int(rng.integers(48, 60))
    scale = [0, 2, 4, 5, 7, 9, 11] if rng.uniform() < 0.5 else [0, 2, 3, 5, 7, 8, 10]
    motif = [root + 12 + int(rng.choice(scale)) + 12 * int(rng.integers(0, 2)) for _ in range(int(rng.integers(4, 7)))]
    return ContentStyle(
        genre=genre,
        hue=_r(hue),
        sat=(_r(sat[0]), _r(sat[1])),
        val=(_r(val[0]), _r(val[1])),
        texture=str(rng.choice(TEXTURES)),
        locations=locations,
        grade_gain=[_r(g) for g in rng.uniform(0.8, 1.15, 3)],
        grade_lift=[_r(g) for g in rng.uniform(-0.03, 0.08, 3)],
        grade_gamma=_r(rng.uniform(0.75, 1.3)),
        grade_saturation=_r(rng.uniform(0.6, 1.3)),
        vignette=_r(rng.uniform(0.0, 0.5)),
        letterbox=_r(rng.uniform(0.08, 0.13) if movie else 0.0),
        character=dict(
            shape=str(rng.choice(R.SHAPES)),
            color=[_r(c) for c in R.hsv_to_rgb(rng.uniform(), rng.uniform(0.5, 1), rng.uniform(0.6, 1))],
            hat=[_r(c) for c in R.hsv_to_rgb(rng.uniform(), rng.uniform(0.5, 1), rng.uniform(0.3, 1))],
            size=_r(rng.uniform(9, 12)),
            side=str(rng.choice(["left", "right"])),
            presence=_r(rng.uniform(0.5, 0.85)),
            f0=_r(rng.uniform(100, 260)),
            formants=[_r(rng.uniform(350, 900)), _r(rng.uniform(1000, 2400))],
            syllable_rate=_r(rng.uniform(3.0, 5.0)),
        ),
        theme=dict(
            motif=motif,
            tempo=_r(rng.uniform(*tempo)),
            harmonics=[_r(h) for h in rng.uniform(0.0, 0.8, 4)],
            pad=[root, root + 7, root + 12 + int(rng.choice([3, 4]))],
            pad_level=_r(rng.uniform(0.02, 0.05)),
        ),
        master=dict(
            tilt_db_per_octave=_r(rng.uniform(-5.0, 3.0)),
            noise_dbfs=_r(rng.uniform(-50, -36)),
            noise_slope=_r(rng.uniform(-6, 2)),
            hum_hz=float(rng.choice([50.0, 60.0])),
            hum_level=_r(rng.uniform(0.0, 0.02)),
            peak=_r(rng.uniform(0.55, 0.9)),
        ),
    )


# ----------------------------------------------------------------------------- pixels
def background(style: ContentStyle, location: int, w: int, h: int) -> np.ndarray:
    """The static background of one location ("set") of the style: (H, W, 3) float32."""
    loc = style.locations[location]
    c = np.asarray(loc["colours"], np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) * (120.0 / h)
    s, a = loc["scale"], loc["angle"]
    if style.texture == "stripes":
        m = 0.5 + 0.5 * np.sin((xs * np.cos(a) + ys * np.sin(a)) * 2 * np.pi / (2 * s))
    elif style.texture == "checker":
        m = ((np.floor(xs / s) + np.floor(ys / s)) % 2).astype(np.float32)
    elif style.texture == "blobs":
        rng = np.random.default_rng(loc["seed"])
        coarse = rng.uniform(size=(int(120 / s) + 2, int(120 * w / h / s) + 2))  # in 120-px units
        m = _bilinear(coarse, xs / s, ys / s)
    elif style.texture == "horizon":
        horizon = 40 + 2 * s
        m = np.clip((ys - horizon) / 4.0, 0, 1) + 0.15 * np.sin(xs * 2 * np.pi / (3 * s)) * (ys < horizon)
    elif style.texture == "dots":
        gx, gy = (xs % (2 * s)) - s, (ys % (2 * s)) - s
        m = (np.hypot(gx, gy) < 0.45 * s).astype(np.float32)
    else:  # bricks
        row = np.floor(ys / s)
        bx = (xs + (row % 2) * s) % (2 * s)
        m = ((ys % s > 1.2) & (bx > 1.2)).astype(np.float32)
    m = np.clip(m, 0, 1)[..., None]
    base = c[0] * (1 - m) + c[1] * m
    mix = loc["contrast"]
    gradient = (ys / 120.0)[..., None]
    return (base * (1 - 0.3 * mix) + c[2] * 0.3 * mix * gradient).astype(np.float32)


def _bilinear(grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    x0, y0 = np.clip(x0, 0, grid.shape[1] - 2), np.clip(y0, 0, grid.shape[0] - 2)
    g = grid
    return ((g[y0, x0] * (1 - fx) + g[y0, x0 + 1] * fx) * (1 - fy)
            + (g[y0 + 1, x0] * (1 - fx) + g[y0 + 1, x0 + 1] * fx) * fy).astype(np.float32)


class Grader:
    """The style's colour grading (saturation, per-channel gain, lift, gamma), vignette
    and letterbox. Static pixels (a scene's background) are graded as images, once per
    scene; moving sprites are drawn with graded colours (:meth:`color`), which keeps the
    per-frame cost at one copy and one quantisation."""

    def __init__(self, style: ContentStyle, w: int, h: int, gain_jitter: np.ndarray | None = None,
                 contrast: np.ndarray | None = None):
        self.gain = np.asarray(style.grade_gain, np.float32) * (1 if gain_jitter is None else gain_jitter)
        self.contrast = None if contrast is None else np.asarray(contrast, np.float32)  # per channel, about 0.5
        self.lift = np.asarray(style.grade_lift, np.float32)
        self.gamma = style.grade_gamma
        self.sat = style.grade_saturation
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xs - w / 2) / (w / 2)) ** 2 + ((ys - h / 2) / (h / 2)) ** 2
        self.vignette = (1 - style.vignette * np.clip(r2 - 0.3, 0, None) / 1.7)[..., None].astype(np.float32)
        self.bar = int(round(style.letterbox * h))

    def color(self, rgb) -> np.ndarray:
        """Grade an RGB colour (or any (..., 3) array) in [0, 1]; no vignette."""
        x = np.asarray(rgb, np.float32)
        luma = x @ np.asarray([0.299, 0.587, 0.114], np.float32)
        x = luma[..., None] + self.sat * (x - luma[..., None])
        x = np.clip(x * self.gain + self.lift, 0, 1) ** self.gamma
        if self.contrast is not None:
            x = np.clip(0.5 + self.contrast * (x - 0.5), 0, 1)
        return x.astype(np.float32)

    def image(self, img: np.ndarray) -> np.ndarray:
        """Grade a (H, W, 3) image, with the vignette."""
        return self.color(img) * self.vignette

    def finish(self, canvas: np.ndarray) -> np.ndarray:
        """(H, W, 3) float in [0, 1] → uint8 with the letterbox bars."""
        out = (canvas * 255 + 0.5).astype(np.uint8)
        if self.bar:
            out[: self.bar] = 0
            out[-self.bar :] = 0
        return out

    def params(self, p: dict) -> dict:
        """Event parameters with their colours graded."""
        return {k: (self.color(v).tolist() if k in ("color", "hat") else v) for k, v in p.items()}


class Character:
    """The show's main character: body, hat and eyes pre-rendered once as an RGBA sprite,
    pasted each frame at its (slowly swaying) position, with a mouth that opens with its voice."""

    def __init__(self, style: ContentStyle, grader: Grader, w: int, h: int):
        ch = grader.params(style.character)
        self.u = h / 120
        self.size = size = ch["size"] * self.u
        self.side = 0.12 if ch["side"] == "left" else 0.88
        self.w, self.h = w, h
        half = int(np.ceil(1.6 * size)) + 2
        rgb = np.zeros((2 * half, 2 * half, 3), np.float32)
        alpha = np.zeros((2 * half, 2 * half, 3), np.float32)
        for canvas, ink in ((rgb, None), (alpha, (1.0, 1.0, 1.0))):
            c = half
            R.blob(canvas, c, c, size + 1.2, ink or (0.05, 0.05, 0.05), ch["shape"])
            R.blob(canvas, c, c, size, ink or ch["color"], ch["shape"])
            R.rect(canvas, c - 0.8 * size, c - 1.5 * size, c + 0.8 * size, c - 0.9 * size, ink or ch["hat"])
            for dx in (-0.35, 0.35):
                R.blob(canvas, c + dx * size, c - 0.25 * size, 0.22 * size, ink or (1, 1, 1))
                R.blob(canvas, c + dx * size, c - 0.22 * size, 0.1 * size, ink or (0, 0, 0))
        self.rgb, self.alpha, self.half = rgb, alpha[..., :1], half

    def draw(self, canvas: np.ndarray, t: float, mouth: float, slot: float) -> None:
        cx = int(round((self.side + 0.03 * np.sin(2 * np.pi * 0.11 * t + slot)) * self.w))
        cy = int(round(0.7 * self.h + 2 * self.u * np.sin(2 * np.pi * 0.37 * t + slot)))
        y0, x0 = cy - self.half, cx - self.half
        ys, xs = slice(max(y0, 0), min(y0 + 2 * self.half, self.h)), slice(max(x0, 0), min(x0 + 2 * self.half, self.w))
        sub = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
        a = self.alpha[sub]
        canvas[ys, xs] = canvas[ys, xs] * (1 - a) + self.rgb[sub] * a
        s = self.size
        R.rect(canvas, cx - 0.3 * s, cy + 0.3 * s, cx + 0.3 * s, cy + (0.36 + 0.35 * mouth) * s, (0.1, 0.02, 0.02))


# ----------------------------------------------------------------------------- sound
def voice(style: ContentStyle, env: np.ndarray, sr: int) -> np.ndarray:
    """The character's voice: a harmonic source (F0 with slow vibrato) shaped by two
    formant resonances, gated by the syllable envelope ``env`` (per sample, 0…1)."""
    ch = style.character
    harm = []
    for k in range(1, 16):
        fk = k * ch["f0"]
        if fk > sr / 2 - 500:
            break
        g = sum(np.exp(-0.5 * ((fk - f) / (0.12 * f)) ** 2) for f in ch["formants"]) + 0.05
        harm.append(g / k**0.5)
    out = np.zeros(env.shape[0], np.float32)
    idx = np.flatnonzero(env > 0)
    if idx.size:
        t = np.arange(idx[0], idx[-1] + 1) / sr
        f0 = ch["f0"] * (1 + 0.03 * np.sin(2 * np.pi * 5.0 * t))
        src = A.tone_from_track(f0, sr, tuple(harm)) / max(sum(harm), 1e-6) * 3
        out[idx[0] : idx[-1] + 1] = 0.06 * env[idx[0] : idx[-1] + 1] * src
    return out


def theme_motif(style: ContentStyle, sr: int, notes: int | None = None) -> np.ndarray:
    """The show's theme: its motif (or the first ``notes`` notes of it) in its timbre."""
    th = style.theme
    beat = 60.0 / th["tempo"] / 2
    harm = (1.0, *th["harmonics"])
    motif = th["motif"][:notes] if notes else th["motif"]
    out = np.zeros(int((len(motif) + 1) * beat * sr), np.float32)
    for i, note in enumerate(motif):
        tone = A.decaying_tone(sr, A.midi_to_hz(note), 0.6 * beat + 0.05, dur=1.5 * beat, harmonics=harm)
        A.add_at(out, tone, int(i * beat * sr), 0.25 / sum(harm))
    return out


def pad(style: ContentStyle, n: int, sr: int) -> np.ndarray:
    """A constant, quiet chord under the whole title (with a slow tremolo)."""
    t = (np.arange(n) / sr).astype(np.float32)
    chord = sum(np.sin(np.float32(2 * np.pi * A.midi_to_hz(m)) * t) for m in style.theme["pad"])
    return (style.theme["pad_level"] * chord * (0.8 + 0.2 * np.sin(2 * np.pi * 0.2 * t))).astype(np.float32)


def master(style: ContentStyle, x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """The mastering chain: EQ tilt, noise floor, mains hum, then peak normalisation."""
    m = style.master
    y = A.apply_tilt(x, sr, m["tilt_db_per_octave"])
    y = y / (np.max(np.abs(y)) + 1e-9) * m["peak"]
    t = (np.arange(x.shape[0]) / sr).astype(np.float32)
    y += 10 ** (m["noise_dbfs"] / 20) * A.coloured_noise(rng, x.shape[0], sr, m["noise_slope"])
    y += m["hum_level"] * (np.sin(2 * np.pi * m["hum_hz"] * t) + 0.5 * np.sin(2 * np.pi * 3 * m["hum_hz"] * t))
    return np.clip(y, -1, 1).astype(np.float32)
