"""Packet index of a prepared title: read a snippet's compressed frames without opening the MP4.

``binge prepare`` stores each title as H.264 in MP4 with a keyframe (IDR, closed GOP) at the
first frame of every snippet and no B-frames, so frame k of the title is packet k of the
stream and snippet m is packets ``m·T … m·T + T − 1``, decodable on their own. The index,
``video.pkt`` beside ``video.mp4``, holds the byte offset and size of every packet in the MP4
and the stream's codec name and extradata (H.264 ``avcC``: SPS/PPS). A reader then needs no
container at all: two ``pread`` calls (T index rows, then the snippet's bytes) and a decoder
shared by every title with the same extradata. Opening an MP4 parses its whole sample table
(a cost that grows with the title's length and is paid again each time a handle cache evicts
the title); the index makes a read cost the same for any title count and length
(docs/data.md, "Benchmarks").

File layout (little-endian)::

    b"BPKTIDX1" | u32 len(codec) | u32 len(extradata) | u64 P (packets)
    | codec name (ASCII) | extradata | zero padding to a multiple of 8 | P × (i64 offset, i64 size)
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from binge.io import atomic_path

__all__ = ["PacketIndexError", "IndexHeader", "index_path", "write_packet_index",
           "index_corpus", "read_index_header", "read_rows"]

MAGIC = b"BPKTIDX1"
_HEAD = struct.Struct("<8sIIQ")


class PacketIndexError(RuntimeError):
    """A prepared video breaks the one-packet-per-frame, keyframe-per-snippet layout."""


class IndexHeader(NamedTuple):
    codec: str
    extradata: bytes
    packets: int
    rows_offset: int  # byte offset of row 0


#: the packet index's suffix: ``…/video.mp4`` → ``…/video.pkt``
SUFFIX = ".pkt"


def index_path(video_path: str | os.PathLike) -> Path:
    """``…/video.mp4`` → ``…/video.pkt``."""
    return Path(video_path).with_suffix(SUFFIX)


def write_packet_index(video_path: str | os.PathLike, frames_per_snippet: int) -> Path:
    """Write ``video.pkt`` for a prepared ``video.mp4`` (atomically) and return its path.

    Streams: rows are written in blocks of :data:`_BLOCK` packets as they are demuxed, under
    a header written first for 0 packets and rewritten for the final count (the same length),
    so memory does not grow with the title's length; the bytes equal those of the whole
    table built in memory and written at once (tests/data/test_packet_index.py keeps that
    writer as its reference).

    Raises :class:`PacketIndexError` naming the file when packet k is not frame k (pts out of
    order or missing), when a snippet's first packet is not a keyframe, or when packets
    overlap in the file: such a video is not one ``binge prepare`` wrote.
    """
    video_path = Path(video_path)
    with av.open(str(video_path)) as container, atomic_path(index_path(video_path)) as tmp:
        stream = container.streams.video[0]
        codec = stream.codec_context.name.encode("ascii")
        extradata = bytes(stream.codec_context.extradata or b"")
        with open(tmp, "wb") as out:
            out.write(_header(codec, extradata, 0))
            count = _write_rows(container, stream, video_path, frames_per_snippet, out)
            out.seek(0)
            out.write(_header(codec, extradata, count))
    return index_path(video_path)


#: packets demuxed between two writes of their rows (16 bytes each)
_BLOCK = 4096


def _header(codec: bytes, extradata: bytes, packets: int) -> bytes:
    head = _HEAD.pack(MAGIC, len(codec), len(extradata), packets) + codec + extradata
    return head + b"\0" * (-len(head) % 8)


def _write_rows(container, stream, video_path: Path, frames_per_snippet: int, out) -> int:
    """Check each packet of ``stream`` (module docstring's layout) and write its (offset,
    size) row to ``out``; returns the packet count."""
    block = np.empty((_BLOCK, 2), dtype="<i8")
    first_pts = step = None
    end = 0  # where the previous packet ended in the file
    k = -1
    for k, packet in enumerate(p for p in container.demux(stream) if p.size > 0):
        first_pts = packet.pts if first_pts is None else first_pts
        if k == 1:
            step = packet.pts - first_pts
        expected = first_pts + k * (step or 0)
        if packet.pts is None or (k > 0 and (step <= 0 or packet.pts != expected)):
            raise PacketIndexError(f"{video_path}: packet {k} has pts {packet.pts}, not "
                                   f"{expected}; prepare the title again")
        if k % frames_per_snippet == 0 and not packet.is_keyframe:
            raise PacketIndexError(f"{video_path}: frame {k} starts a snippet but is not "
                                   "a keyframe; prepare the title again")
        if (packet.pos < 0 if k == 0 else packet.pos < end):
            raise PacketIndexError(f"{video_path}: packets are not stored in order; prepare "
                                   "the title again")
        end = packet.pos + packet.size
        block[k % _BLOCK] = packet.pos, packet.size
        if k % _BLOCK == _BLOCK - 1:
            out.write(block.tobytes())
    out.write(block[:(k + 1) % _BLOCK].tobytes())
    if step and round(first_pts / step) != 0:
        raise PacketIndexError(f"{video_path}: the first frame has pts {first_pts}, not 0; "
                               "prepare the title again")
    return k + 1


def index_corpus(corpus_dir: str | os.PathLike) -> int:
    """Write the missing ``video.pkt`` of a corpus prepared before the index existed.

    Returns the number written. ``binge prepare`` writes the index of every new title; older
    titles are read by seeking in their MP4 (slower with many titles) until this runs.
    """
    from binge.data.corpus import read_corpus_params, read_manifest

    corpus_dir = Path(corpus_dir)
    rows = read_manifest(corpus_dir)
    frames = int(read_corpus_params(corpus_dir)["frames"])
    todo = [corpus_dir / r["video_path"] for r in rows
            if not index_path(corpus_dir / r["video_path"]).is_file()]
    for video in todo:
        write_packet_index(video, frames)
    return len(todo)


def read_index_header(path: str | os.PathLike, fd: int | None = None) -> IndexHeader:
    """The header of a ``video.pkt`` (codec, extradata, packet count, where the rows start);
    ``fd``: the file already open for reading (two ``pread``s, no open; ``path`` only names
    it in errors)."""
    if fd is None:
        fd = os.open(path, os.O_RDONLY)
        try:
            return read_index_header(path, fd)
        finally:
            os.close(fd)
    raw = os.pread(fd, _HEAD.size, 0)
    if len(raw) < _HEAD.size or raw[:8] != MAGIC:
        raise PacketIndexError(f"{path}: not a packet index; delete it and prepare again")
    _, n_codec, n_extra, packets = _HEAD.unpack(raw)
    rest = os.pread(fd, n_codec + n_extra, _HEAD.size)
    size = _HEAD.size + n_codec + n_extra
    return IndexHeader(rest[:n_codec].decode("ascii"), rest[n_codec:], packets,
                       size + (-size % 8))


def read_rows(fd: int, header: IndexHeader, first: int, count: int) -> np.ndarray:
    """Rows ``first … first + count − 1``: (count, 2) int64 (byte offset, size) in the MP4."""
    if first < 0 or first + count > header.packets:
        raise PacketIndexError(f"packets {first}…{first + count - 1} are outside the index "
                               f"({header.packets} packets)")
    raw = os.pread(fd, 16 * count, header.rows_offset + 16 * first)
    return np.frombuffer(raw, dtype="<i8").reshape(count, 2)
