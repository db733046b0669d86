"""Are the world's artifacts and events real? Linear probes on 3.2-s snippets.

Measures, on a generated world (paper §3 "Sampling Policy", footnote 4):

1. *Artifacts*: a linear probe on cheap **global** features (mean colour and its spread,
   spectral tilt, loudness: nothing temporal) names the title (and the show/movie) of a
   held-out snippet of a title it was trained on (snippets alternate train/test in time).
2. *Events*: naming the event class of a snippet from shows the probe has **not** seen
   (group k-fold over shows/movies). Global features vs simple **motion/onset** features
   (frame-difference energy and its periodicity, motion-centroid trajectories, audio
   onset-envelope statistics, audio-motion synchrony).

Snippets are non-overlapping 3.2-s windows decoded with PyAV straight from the world's MP4s;
the event probe uses the windows that lie inside one scene (label = its event class).

    python benchmarks/world_probe.py --world /tmp/world-demo --preset demo --workers 2 --out probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import av
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

SNIPPET_S = 3.2


def decode(path: Path) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Frames (N, H, W, 3) uint8, fps, mono audio, sample rate."""
    frames, audio = [], []
    with av.open(str(path)) as c:
        fps = float(c.streams.video[0].average_rate)
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
        c.seek(0)
        sr = c.streams.audio[0].rate
        for f in c.decode(audio=0):
            audio.append(f.to_ndarray().mean(axis=0))
    return np.stack(frames), fps, np.concatenate(audio), sr


def power_spectrogram(x: np.ndarray, sr: int, n_fft: int = 512, hop: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(frames, bins) power with a Hann window, and the bin frequencies."""
    n = 1 + max(0, (x.shape[0] - n_fft) // hop)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2
    return spec, np.fft.rfftfreq(n_fft, 1 / sr)


def global_features(frames: np.ndarray, x: np.ndarray, sr: int) -> np.ndarray:
    """Mean colour (3), colour spread over pixels (3), spectral tilt, log level: 8 numbers
    with no temporal information."""
    f = frames.astype(np.float32) / 255
    spec, freqs = power_spectrogram(x, sr)
    mean_spec = spec.mean(0) + 1e-10
    keep = freqs > 50
    tilt = np.polyfit(np.log2(freqs[keep]), 10 * np.log10(mean_spec[keep]), 1)[0]  # dB / octave
    return np.concatenate([f.mean((0, 1, 2)), f.std((0, 1, 2)), [tilt, np.log10(mean_spec.sum())]])


def _periodicity(s: np.ndarray) -> tuple[float, float]:
    """Height and lag (fraction of the length) of the highest autocorrelation peak after lag 0."""
    s = s - s.mean()
    if s.std() < 1e-9 or s.shape[0] < 4:
        return 0.0, 0.0
    ac = np.correlate(s, s, "full")[s.shape[0] - 1 :] / (s.var() * s.shape[0])
    start = int(np.argmax(ac < 0)) if np.any(ac < 0) else 1
    if start >= ac.shape[0] - 1:
        return 0.0, 0.0
    lag = start + int(np.argmax(ac[start:]))
    return float(ac[lag]), lag / s.shape[0]


def motion_onset_features(frames: np.ndarray, x: np.ndarray, sr: int) -> np.ndarray:
    """Simple temporal features of motion and sound (invariant to palette and mastering)."""
    g = frames.astype(np.float32).mean(-1)[:, ::2, ::2]
    d = np.abs(np.diff(g, axis=0))
    energy = d.mean((1, 2)) / (g.std() + 1)
    mask = d > 12
    area = mask.mean((1, 2))
    ys, xs = np.mgrid[0 : d.shape[1], 0 : d.shape[2]]
    w = d * mask + 1e-6
    cy = (w * ys).sum((1, 2)) / w.sum((1, 2)) / d.shape[1]
    cx = (w * xs).sum((1, 2)) / w.sum((1, 2)) / d.shape[2]
    vy, vx = np.diff(cy), np.diff(cx)
    bright = g.mean((1, 2))
    spec, freqs = power_spectrogram(x, sr)
    logspec = np.log(spec + 1e-8)
    flux = np.maximum(np.diff(logspec, axis=0), 0).mean(1)  # onset envelope
    loud = np.log(spec.sum(1) + 1e-8)
    centroid = (spec * freqs).sum(1) / (spec.sum(1) + 1e-10)
    # onset envelope resampled to the video frame times: audio-motion synchrony
    t_v = np.arange(1, frames.shape[0]) / (frames.shape[0] / (x.shape[0] / sr))
    t_a = (np.arange(flux.shape[0]) + 1) * 256 / sr
    flux_v = np.interp(t_v, t_a, flux)
    sync = float(np.corrcoef(flux_v, energy)[0, 1]) if energy.std() > 0 and flux_v.std() > 0 else 0.0
    peaks = np.sum((flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > flux.mean() + 2 * flux.std()))
    return np.array([
        energy.mean(), energy.std() / (energy.mean() + 1e-6), *_periodicity(energy),
        area.mean(), area.std(),
        cy.std(), cx.std(), *_periodicity(cy), *_periodicity(cx),
        np.abs(vy).mean(), np.abs(vx).mean(), float(np.mean(vy > 0)),
        bright.std() / (bright.mean() + 1e-6), *_periodicity(bright),
        flux.std() / (flux.mean() + 1e-6), *_periodicity(flux), peaks / SNIPPET_S,
        loud.std(), *_periodicity(loud), np.std(np.log(centroid + 1)), *_periodicity(centroid),
        sync,
    ], dtype=np.float64)


def snippets(world: Path) -> dict[str, list]:
    """Features and labels of every 3.2-s snippet of every title."""
    import csv

    with open(world / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, list] = {k: [] for k in ("glob", "mo", "title", "group", "event", "clean", "m")}
    for r in tqdm(rows, desc="decode + features"):
        gt = json.loads((world / "ground_truth" / f"{r['title_id']}.json").read_text())
        frames, fps, x, sr = decode(world / r["path"])
        for m in range(int(gt["duration_s"] // SNIPPET_S)):
            a, b = m * SNIPPET_S, (m + 1) * SNIPPET_S
            fr = frames[int(round(a * fps)) : int(round(b * fps))]
            au = x[int(a * sr) : int(b * sr)]
            scene = next(s for s in gt["scenes"] if s["start_s"] <= (a + b) / 2 < s["end_s"])
            out["glob"].append(global_features(fr, au, sr))
            out["mo"].append(motion_onset_features(fr, au, sr))
            out["title"].append(r["title_id"])
            out["group"].append(r["group"])
            out["event"].append(scene["event"])
            out["clean"].append(scene["start_s"] <= a and b <= scene["end_s"])
            out["m"].append(m)
    return out


def fit_predict(X_tr, y_tr, X_te) -> np.ndarray:
    """A linear probe: standardised features → multinomial logistic regression."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))
    clf.fit(X_tr, y_tr)
    return clf.predict(X_te)


def probe(X_tr, y_tr, X_te, y_te) -> float:
    return float(np.mean(fit_predict(X_tr, y_tr, X_te) == y_te))


def run(world: Path, folds: int = 4) -> dict:
    s = snippets(world)
    G, M = np.asarray(s["glob"]), np.nan_to_num(np.asarray(s["mo"]))
    title, group, event = map(np.asarray, (s["title"], s["group"], s["event"]))
    clean, m = np.asarray(s["clean"]), np.asarray(s["m"])
    res: dict = {"snippets": int(len(title)), "titles": int(len(set(title))), "groups": int(len(set(group)))}
    # 1. artifacts: name the title / the show of held-out snippets (alternate snippets in time)
    tr, te = m % 2 == 0, m % 2 == 1
    pred = fit_predict(G[tr], title[tr], G[te])
    ok = pred == title[te]
    is_movie = np.char.startswith(title[te].astype(str), "movie")
    group_of = dict(zip(title, group))
    res["title_probe_global"] = float(ok.mean())
    res["title_probe_global_movies"] = float(ok[is_movie].mean()) if is_movie.any() else None
    res["title_probe_global_episodes"] = float(ok[~is_movie].mean()) if (~is_movie).any() else None
    wrong = ~ok
    res["title_errors_within_same_show"] = (
        float(np.mean([group_of[p] == g for p, g in zip(pred[wrong], group[te][wrong])])) if wrong.any() else None
    )
    res["title_chance"] = 1 / len(set(title))
    res["group_probe_global"] = probe(G[tr], group[tr], G[te], group[te])
    res["group_chance"] = 1 / len(set(group))
    # 2. events on unseen shows: group k-fold over shows / movies, clean snippets only
    Gc, Mc, yc, gc = G[clean], M[clean], event[clean], group[clean]
    accs: dict[str, list[float]] = {"global": [], "motion_onset": [], "motion_only": [], "onset_only": [], "majority": []}
    n_vis = 18  # the first 18 motion/onset features are video, the rest audio
    for tr_i, te_i in GroupKFold(n_splits=folds).split(Mc, yc, gc):
        accs["global"].append(probe(Gc[tr_i], yc[tr_i], Gc[te_i], yc[te_i]))
        accs["motion_onset"].append(probe(Mc[tr_i], yc[tr_i], Mc[te_i], yc[te_i]))
        accs["motion_only"].append(probe(Mc[tr_i, :n_vis], yc[tr_i], Mc[te_i, :n_vis], yc[te_i]))
        accs["onset_only"].append(probe(Mc[tr_i, n_vis:], yc[tr_i], Mc[te_i, n_vis:], yc[te_i]))
        values, counts = np.unique(yc[tr_i], return_counts=True)
        accs["majority"].append(float(np.mean(yc[te_i] == values[np.argmax(counts)])))
    res["event_snippets"] = int(clean.sum())
    res["event_chance"] = 1 / len(set(yc))
    res["event_probe_unseen_groups"] = {k: float(np.mean(v)) for k, v in accs.items()}
    res["event_probe_folds"] = folds
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", type=Path, required=True, help="world folder (generated here if absent)")
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from binge.world import generate_world

    generate_world(args.world, preset=args.preset, seed=args.seed, workers=args.workers)
    res = run(args.world, args.folds)
    res.update(world=str(args.world), preset=args.preset, seed=args.seed)
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        tmp = args.out.with_name(f".{args.out.name}.tmp{os.getpid()}")
        tmp.write_text(text + "\n")
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
