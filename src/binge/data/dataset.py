"""``SnippetDataset``: random access to snippets x_{n,m} of a prepared corpus (paper §3).

``ds[(n, m)]`` decodes the ``frames`` video frames of snippet m of title n from the
title's H.264 copy and reads its log-mel frames from the fp16 ``.npy``; both cover
``[m·L, (m+1)·L)``
(video frame k shows time (k + 0.5)/fps, audio frame t is centred on t·hop/sr; see
:mod:`binge.data.logmel`). Then the paper's augmentation (§4.1,
:mod:`binge.data.transforms`) and an optional user ``transform``.

Reads need no open container: the title's packet index (``video.pkt``,
:mod:`binge.data.packet_index`) gives the byte range of the snippet's T packets (the first
a keyframe), which one ``pread`` fetches and a decoder shared by all titles of the corpus
decodes; the log-mel rows come from one ``pread`` at an offset computed from the ``.npy``
header. No per-title handle is kept, so the cost of a read does not depend on how many
titles a worker touches nor on their length. A title without ``video.pkt`` (a corpus
prepared before the index existed) is read by seeking in its MP4 instead, with the MP4
containers kept in a per-process LRU of ``max_open_files``.

Safe in DataLoader workers: per-title metadata lives in numpy arrays (no per-item Python
objects to copy-on-read); decoders, headers and containers are created lazily in each
process.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Callable, Optional

import av
import numpy as np
import torch
from av.video.reformatter import VideoReformatter
from torch.utils.data import Dataset

from binge.config import AugmentConfig
from binge.data.corpus import SPLITS, CorpusError, read_corpus_params, read_manifest
from binge.data.logmel import LogMelSettings, frames_per_snippet, snippet_frames
from binge.data.packet_index import index_path, read_index_header, read_rows
from binge.data.transforms import (apply_audio_mask, apply_color_jitter, crop_box,
                                   draw_audio_mask, draw_color_jitter)
from binge.sampling import snippet_offsets

__all__ = ["SnippetDataset"]

_AUG = AugmentConfig()
_INHERITED: list = []  # handles a forked worker inherited from its parent (never closed)


class SnippetDataset(Dataset):
    """Snippets of a prepared corpus, indexed by ``(n, m)`` pairs.

    Args:
        corpus_dir: output folder of ``binge prepare``.
        split: None for every title, else ``"train"`` or ``"heldout"``; titles are
            numbered n = 0..N−1 in the order of that split's manifest rows.
        augment: random crop + audio masking (+ colour jitter if σ > 0); False gives the
            centre crop and no masking.
        crop_size: side of the square crop (158 in the paper); None keeps whole frames.
        color_jitter: σ of the colour jitter (0 = off, the default).
        audio_mask_max_fraction: largest share of the time or frequency axis dropped.
        data: a DataConfig to check the corpus against (refused if prepared otherwise).
        transform: callable applied to the sample dict last (e.g. another pipeline).
        max_open_files: MP4 containers kept open per process for titles read without a
            packet index.

    ``ds[(n, m)]`` returns ``{"video": (T, S, S, 3) uint8, "audio": (1, P, Q) float32,
    "title": n, "snippet": m, "start_s": m·L, "end_s": (m+1)·L}``. ``ds[(n, m, seed)]``
    draws the augmentation from ``np.random.default_rng(seed)`` alone (a pure function of
    the key; what the trainer's per-sample seeds use, without touching the global
    generators); ``ds[(n, m)]`` draws that seed from torch's generator (seeded per
    DataLoader worker), so those runs repeat under ``torch.manual_seed``.
    """

    def __init__(
        self,
        corpus_dir: str | os.PathLike,
        split: Optional[str] = None,
        augment: bool = True,
        crop_size: Optional[int] = _AUG.crop_size,
        color_jitter: float = _AUG.color_jitter,
        audio_mask_max_fraction: float = _AUG.audio_mask_max_fraction,
        data: Any = None,
        transform: Optional[Callable[[dict], dict]] = None,
        max_open_files: int = 16,
    ):
        if split not in (None, *SPLITS):
            raise ValueError(f"split={split!r}: expected None, 'train' or 'heldout'")
        self.corpus_dir = Path(corpus_dir)
        rows = [r for r in read_manifest(self.corpus_dir, data)
                if split is None or r["split"] == split]
        params = read_corpus_params(self.corpus_dir)
        assert params is not None  # read_manifest checked it
        self.params = params
        self.split = split
        self.augment = augment
        self.crop_size = crop_size
        self.sigma = float(color_jitter)
        self.mask_fraction = float(audio_mask_max_fraction)
        self.transform = transform
        self.max_open_files = max_open_files
        self.frames = int(params["frames"])
        self.fps = float(params["fps"])
        self.seconds = self.frames / self.fps
        self._settings = LogMelSettings(int(params["sample_rate"]), int(params["n_mels"]),
                                        int(params["n_fft"]), int(params["hop_length"]))
        self._logmel_shape = (self._settings.n_mels, frames_per_snippet(self.seconds,
                                                                         self._settings))
        # per-title arrays (fixed-width strings: no refcounted objects in workers)
        self._title_ids = np.array([r["title_id"] for r in rows], dtype=np.str_)
        self._groups = np.array([r["group"] for r in rows], dtype=np.str_)
        self._num_snippets = np.array([r["num_snippets"] for r in rows], dtype=np.int64)
        self._video = np.array([r["video_path"] for r in rows], dtype=np.str_)
        self._audio = np.array([r["audio_path"] for r in rows], dtype=np.str_)
        self._root = str(self.corpus_dir)  # os.path.join on str: pathlib costs ~0.1 ms a read
        self._height = np.array([r["height"] for r in rows], dtype=np.int64)
        self._width = np.array([r["width"] for r in rows], dtype=np.int64)
        short = min((min(r["width"], r["height"]) for r in rows), default=None)
        if crop_size is not None and short is not None and crop_size > short:
            raise ValueError(f"crop_size={crop_size} is larger than the corpus frames "
                             f"({short} px short side); lower augment.crop_size or prepare "
                             "with a larger data.short_side")
        self._offsets = snippet_offsets(self._num_snippets)
        self._reset_handles()

    # ----------------------------------------------------------------- bookkeeping
    @property
    def title_ids(self) -> list[str]:
        return self._title_ids.tolist()

    @property
    def num_snippets(self) -> list[int]:
        """M_n per title n."""
        return self._num_snippets.tolist()

    @property
    def groups(self) -> list[str]:
        return self._groups.tolist()

    def __len__(self) -> int:
        """Total snippets ∑ M_n (an integer index i maps to (n, m) in title order)."""
        return int(self._offsets[-1])

    def index_to_pair(self, i: int) -> tuple[int, int]:
        """Flat index → (n, m)."""
        if not 0 <= i < len(self):
            raise IndexError(f"snippet index {i} out of range [0, {len(self)})")
        n = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return n, int(i - self._offsets[n])

    def _reset_handles(self) -> None:
        if getattr(self, "_containers", None) or getattr(self, "_decoders", None):
            # handles inherited through fork: freeing them here can deadlock in FFmpeg,
            # so keep them alive (never used again) and open fresh ones
            _INHERITED.append((self._containers, self._decoders, self._rgb))
        self._pid = os.getpid()
        self._containers: OrderedDict[int, Any] = OrderedDict()
        self._decoders: dict[tuple[str, bytes], Any] = {}  # (codec, extradata) → decoder
        self._video_index: dict[int, Any] = {}  # n → IndexHeader, or None: no video.pkt
        # n → (path, data offset, rows, dtype, bytes per row) of the log-mel .npy
        self._audio_layout: dict[int, tuple[str, int, int, np.dtype, int]] = {}
        self._rgb = VideoReformatter()  # one per process: reusing it halves the RGB cost

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_containers"], state["_decoders"] = OrderedDict(), {}
        state["_video_index"], state["_audio_layout"] = {}, {}
        state["_rgb"] = None
        return state

    def _own_handles(self) -> None:
        """Fresh decoders and containers in a new process (never share FFmpeg state)."""
        if self._pid != os.getpid() or self._rgb is None:
            self._reset_handles()

    def _cached(self, cache: OrderedDict, n: int, opener: Callable[[], Any]) -> Any:
        """LRU of open handles; callers first reset handles inherited from another process."""
        if n in cache:
            cache.move_to_end(n)
            return cache[n]
        handle = opener()
        cache[n] = handle
        while len(cache) > self.max_open_files:
            _, old = cache.popitem(last=False)
            if hasattr(old, "close"):
                old.close()
        return handle

    def _open_video_fn(self, n: int) -> Callable[[], Any]:
        def opener():
            container = av.open(str(self.corpus_dir / self._video[n]))
            container.streams.video[0].codec_context.thread_count = 1  # parallel: workers
            return container

        return opener

    # ----------------------------------------------------------------- loading
    def _check(self, n: int, m: int) -> None:
        if not 0 <= n < len(self._num_snippets):
            raise IndexError(f"title {n} out of range [0, {len(self._num_snippets)})")
        if not 0 <= m < self._num_snippets[n]:
            raise IndexError(f"snippet {m} of title {n} ({self._title_ids[n]}) out of range "
                             f"[0, {self._num_snippets[n]})")

    def read_video(self, n: int, m: int,
                   box: Optional[tuple[int, int, int]] = None) -> np.ndarray:
        """Frames of snippet (n, m): (T, H, W, 3) uint8, or only the square
        ``box = (top, left, size)`` of each frame, (T, size, size, 3)."""
        self._check(n, m)
        with _Files() as files:
            return self._read_video(n, m, box, files)

    def _read_video(self, n: int, m: int, box: Optional[tuple[int, int, int]],
                    files: "_Files") -> np.ndarray:
        """:meth:`read_video` of a checked (n, m), its files opened through ``files``."""
        self._own_handles()
        top, left = (box[0], box[1]) if box else (0, 0)
        h, w = (box[2], box[2]) if box else (int(self._height[n]), int(self._width[n]))
        out = np.empty((self.frames, h, w, 3), dtype=np.uint8)  # filled in place: no stack
        header = self._index_header(n, files)
        if header is not None:
            got = self._decode_indexed(n, m, header, out, top, left, files)
        else:
            frames = self._frames_seek(n, m)
            got = 0
            try:
                for frame in frames:
                    got = self._put_rgb(frame, out, got, top, left)
                    if got == self.frames:
                        break
            finally:
                frames.close()
        if got != self.frames:
            raise CorpusError(f"{self.corpus_dir / self._video[n]}: snippet {m} decoded "
                              f"{got} of {self.frames} frames; the corpus is damaged, "
                              "delete this title's folder and rerun binge prepare")
        return out

    def _put_rgb(self, frame: Any, out: np.ndarray, got: int, top: int, left: int) -> int:
        """Frame → RGB into ``out[got]`` (cropped at ``top, left``); returns ``got + 1``."""
        h, w = out.shape[1:3]
        # threads=1: swscale's default (auto) slice threads cost ~10× the conversion
        # itself on small frames; workers give the parallelism
        out[got] = self._rgb.reformat(frame, format="rgb24", threads=1).to_ndarray()[
            top:top + h, left:left + w]
        return got + 1

    def _index_header(self, n: int, files: Optional["_Files"] = None) -> Any:
        """Title n's ``(IndexHeader, video.pkt path, video.mp4 path)`` (cached per process),
        or None without ``video.pkt``; the index is opened through ``files`` (the snippet's
        rows are read from it next)."""
        header = self._video_index.get(n, False)
        if header is False and files is None:
            with _Files() as files:
                return self._index_header(n, files)
        if header is False:
            video = os.path.join(self._root, self._video[n])
            path = str(index_path(video))  # once per title and process (cached)
            try:
                fd = files.fd(path)
            except FileNotFoundError:
                header = None
            else:
                header = (read_index_header(path, fd), path, video)
            self._video_index[n] = header
        return header

    def _decode_indexed(self, n: int, m: int, header: Any, out: np.ndarray,
                        top: int, left: int, files: "_Files") -> int:
        """Decode snippet m's T packets, read by byte range through the packet index, into
        ``out`` (see :meth:`_put_rgb`); returns the number of frames written."""
        header, pkt_path, video_path = header
        rows = read_rows(files.fd(pkt_path), header, m * self.frames, self.frames)
        start = int(rows[0, 0])
        data = memoryview(os.pread(files.fd(video_path), int(rows[-1].sum()) - start, start))
        decoder = self._decoder(header.codec, header.extradata)
        packets: list = [av.Packet(data[o - start:o - start + size]) for o, size in rows.tolist()]
        packets.append(None)  # drain: frames the decoder still holds
        rgb, h, w = self._rgb, out.shape[1], out.shape[2]
        got, want = 0, self.frames
        try:
            for packet in packets:
                for frame in decoder.decode(packet):
                    # inline _put_rgb: per-frame Python is a share of a small snippet's cost
                    out[got] = rgb.reformat(frame, format="rgb24", threads=1).to_ndarray()[
                        top:top + h, left:left + w]
                    got += 1
                    if got == want:
                        return got
            return got
        finally:
            decoder.flush_buffers()  # the next snippet starts clean on its keyframe

    def _decoder(self, codec: str, extradata: bytes) -> Any:
        key = (codec, extradata)
        if key not in self._decoders:
            ctx = av.CodecContext.create(codec, "r")
            ctx.extradata = extradata
            ctx.thread_count = 1  # parallel: workers
            ctx.open()
            self._decoders[key] = ctx
        return self._decoders[key]

    def _frames_seek(self, n: int, m: int):
        """Without a packet index: seek in the title's MP4 to the snippet's keyframe."""
        container = self._cached(self._containers, n, self._open_video_fn(n))
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        first = m * self.frames
        # seek half a frame past the snippet start so the seek lands on its own keyframe
        container.seek(int((first + 0.5) / self.fps / tb), stream=stream, backward=True,
                       any_frame=False)
        for frame in container.decode(stream):
            if round(frame.pts * tb * self.fps) >= first:
                yield frame

    def read_audio(self, n: int, m: int) -> np.ndarray:
        """Log-mel of snippet (n, m): (P, Q) float32, C-ordered, unmasked, a new array
        (one ``pread`` of Q rows)."""
        self._check(n, m)
        with _Files() as files:
            return self._read_audio(n, m, files)

    def _read_audio(self, n: int, m: int, files: "_Files") -> np.ndarray:
        """:meth:`read_audio` of a checked (n, m), its file opened through ``files``."""
        layout = self._audio_layout.get(n)
        if layout is None:
            path = os.path.join(self._root, self._audio[n])
            offset, rows, dtype = _npy_layout(path, self._settings.n_mels, files.fd(path))
            layout = self._audio_layout[n] = (path, offset, rows, dtype,
                                              self._settings.n_mels * dtype.itemsize)
        path, offset, rows, dtype, row_bytes = layout
        t0, q = snippet_frames(m, self.seconds, self._settings)
        if t0 + q > rows:
            raise CorpusError(f"{path}: snippet {m} needs log-mel rows {t0}…{t0 + q - 1} of "
                              f"{rows}; the corpus is damaged, delete this title's folder and "
                              "rerun binge prepare")
        raw = os.pread(files.fd(path), q * row_bytes, offset + t0 * row_bytes)
        # one copy: fp16 (Q, P) rows → C-ordered float32 (P, Q)
        return np.array(np.frombuffer(raw, dtype=dtype).reshape(q, -1).T, dtype=np.float32,
                        order="C")

    def get_snippet(self, n: int, m: int) -> dict[str, Any]:
        """Snippet (n, m) without augmentation, crop or transform: whole frames."""
        return self._sample(n, m, torch.from_numpy(self.read_video(n, m)),
                            torch.from_numpy(self.read_audio(n, m))[None])

    def _sample(self, n: int, m: int, video: torch.Tensor, audio: torch.Tensor) -> dict[str, Any]:
        return {"video": video, "audio": audio, "title": n, "snippet": m,
                "start_s": m * self.frames / self.fps, "end_s": (m + 1) * self.frames / self.fps}

    @property
    def seeds_from_key(self) -> bool:
        """True when ``ds[(n, m, seed)]`` draws all of its randomness from ``seed`` and
        touches no global generator (no user ``transform``, which may draw from them):
        :class:`binge.train.seeding.KeyedDataset` then passes its keys straight through
        instead of seeding, saving and restoring the three global generators (~0.1 ms)."""
        return self.transform is None

    def __getitem__(self, index: tuple[int, int] | tuple[int, int, int] | int) -> dict[str, Any]:
        """Sample ``(n, m)``, ``(n, m, seed)`` or flat index i (see the class docstring).

        The augmentation draws, in this order — crop top and left (``crop_box``), colour
        jitter's three factors (σ > 0), the audio mask's axis, width and start
        (``mask_audio``, when the width is not 0) — come from
        ``np.random.default_rng(seed)``: a pure function of the key when it carries a seed
        (``(n, m, seed)``: the per-sample seeds of :mod:`binge.train.seeding`), else of a
        seed drawn from torch's global generator.
        """
        n, m, box, jitter, band = self._plan(index)
        with _Files() as files:
            video = self._load_video(n, m, box, files)
            audio = self._load_audio(n, m, files)  # a fresh array: masked in place
        sample = self._finish(n, m, video, audio, jitter, band)
        return self.transform(sample) if self.transform is not None else sample

    def __getitems__(self, keys: Sequence[Any]) -> list[dict[str, Any]]:
        """``[self[key] for key in keys]``, sample by sample the same (bit for bit), at a
        lower cost per sample: what a DataLoader with a batch sampler calls for a batch.

        Every sample's augmentation is drawn first (each from its own generator, as in
        ``__getitem__``; keys without a seed draw theirs from torch's generator in key
        order, as successive ``__getitem__`` calls do), then every video is decoded, then
        every log-mel read and masked: each phase runs in a tight loop (per-sample Python
        between decodes runs with cold caches, ~3× its cost alone), and each file is
        opened once per batch, not once per sample. With a user ``transform`` (which may
        draw from the global generators between samples) it is that list comprehension.
        """
        if self.transform is not None:
            return [self[key] for key in keys]
        plans = [self._plan(key) for key in keys]
        with _Files() as files:
            videos = [self._load_video(n, m, box, files) for n, m, box, _, _ in plans]
            audios = [self._load_audio(n, m, files) for n, m, _, _, _ in plans]
        return [self._finish(n, m, video, audio, jitter, band)
                for (n, m, _, jitter, band), video, audio in zip(plans, videos, audios)]

    def _load_video(self, n: int, m: int, box: Any, files: "_Files") -> np.ndarray:
        """:meth:`read_video` of a checked key, or whatever replaced it (a subclass's override,
        a test's patch: e.g. :class:`binge.data.memory_cache.MemorySnippetDataset`)."""
        if type(self).read_video is _READ_VIDEO:
            return self._read_video(n, m, box, files)
        return self.read_video(n, m, box)

    def _load_audio(self, n: int, m: int, files: "_Files") -> np.ndarray:
        """:meth:`read_audio` of a checked key, or whatever replaced it."""
        if type(self).read_audio is _READ_AUDIO:
            return self._read_audio(n, m, files)
        return self.read_audio(n, m)

    def _plan(self, index: Any) -> tuple[int, int, Any, Any, Any]:
        """Key → ``(n, m, box, jitter, band)``: the snippet and all of its augmentation draws
        (crop box, colour jitter factors or None, audio mask band or None), in the order of
        the ``__getitem__`` docstring; none of them depends on the snippet's content."""
        if type(index) is tuple and len(index) == 3:
            n, m, seed = int(index[0]), int(index[1]), int(index[2])
        else:
            n, m = (self.index_to_pair(int(index)) if np.ndim(index) == 0
                    else map(int, index))
            seed = int(torch.randint(0, 2**62, ()).item()) if self.augment else None
        self._check(n, m)
        rng = np.random.default_rng(seed) if self.augment else None
        box = jitter = band = None
        if self.crop_size is not None:  # crop while decoding: no full-frame copy
            box = (*crop_box(int(self._height[n]), int(self._width[n]), self.crop_size, rng),
                   self.crop_size)
        if rng is not None:
            if self.sigma > 0:
                jitter = draw_color_jitter(self.sigma, rng)
            if self.mask_fraction > 0:
                band = draw_audio_mask(self._logmel_shape, self.mask_fraction, rng)
        return n, m, box, jitter, band

    def _finish(self, n: int, m: int, video: np.ndarray, audio: np.ndarray, jitter: Any,
                band: Any) -> dict[str, Any]:
        """The sample dict of read frames and log-mel with the drawn jitter and mask applied
        (the log-mel in place)."""
        video_t = torch.from_numpy(video)
        if jitter is not None:
            video_t = apply_color_jitter(video_t, jitter)
        if band is not None:
            apply_audio_mask(audio, band)
        return self._sample(n, m, video_t, torch.from_numpy(audio)[None])

    @classmethod
    def from_config(cls, cfg: Any, corpus_dir: Optional[str | os.PathLike] = None,
                    split: Optional[str] = None, augment: bool = True,
                    **kwargs: Any) -> "SnippetDataset":
        """Build from a :class:`binge.config.Config` (data + augment sections), checking
        the corpus was prepared with ``cfg.data``."""
        corpus = corpus_dir or cfg.data.corpus
        if corpus is None:
            raise ValueError("no corpus folder: set data.corpus or pass corpus_dir")
        return cls(corpus, split=split, augment=augment, crop_size=cfg.augment.crop_size,
                   color_jitter=cfg.augment.color_jitter,
                   audio_mask_max_fraction=cfg.augment.audio_mask_max_fraction,
                   data=cfg.data, **kwargs)


_READ_VIDEO, _READ_AUDIO = SnippetDataset.read_video, SnippetDataset.read_audio


class _Files:
    """Read-only file descriptors by path, open for one read or one batch (a context manager
    that closes them all)."""

    __slots__ = ("_fds",)

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}

    def fd(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            fd = self._fds[path] = os.open(path, os.O_RDONLY)
        return fd

    def __enter__(self) -> "_Files":
        return self

    def __exit__(self, *exc: Any) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def _npy_layout(path: str, n_mels: int, fd: Optional[int] = None) -> tuple[int, int, np.dtype]:
    """(data offset, rows, dtype) of a C-ordered (rows, n_mels) ``.npy``; CorpusError otherwise.

    Parses the header dict's three fields directly (numpy's reader evaluates it with
    ``ast``, ~0.2 ms: paid once per title and process, which adds up over 10⁴ titles).
    ``fd``: the file already open for reading (``pread``s, no open of its own).
    """
    if fd is None:
        fd = os.open(path, os.O_RDONLY)
        try:
            return _npy_layout(path, n_mels, fd)
        finally:
            os.close(fd)
    head = os.pread(fd, 256, 0)  # the magic, version, length and (usually) the whole header
    if head[:6] != b"\x93NUMPY" or len(head) < 12:
        raise CorpusError(f"{path}: not a .npy file; delete this title's folder and rerun "
                          "binge prepare")
    major = head[6]
    size = (int.from_bytes(head[8:10], "little") if major == 1
            else int.from_bytes(head[8:12], "little"))
    offset = (10 if major == 1 else 12) + size
    if offset > len(head):
        head = os.pread(fd, offset, 0)
    text = head[offset - size:offset].decode("latin1")
    match = _NPY_HEADER.fullmatch(text.strip())
    dtype = np.dtype(match.group("descr")) if match else None
    if (match is None or match.group("fortran") != "False" or dtype.hasobject
            or int(match.group("cols")) != n_mels):
        raise CorpusError(f"{path}: expected a C-ordered (frames, {n_mels}) log-mel array, "
                          f"header {text.strip()!r}; delete this title's folder and rerun "
                          "binge prepare")
    return offset, int(match.group("rows")), dtype


_NPY_HEADER = re.compile(r"\{'descr': '(?P<descr>[<>|=]?[a-z]\d+)', 'fortran_order': "
                         r"(?P<fortran>True|False), 'shape': \((?P<rows>\d+), "
                         r"(?P<cols>\d+)\), \}")
