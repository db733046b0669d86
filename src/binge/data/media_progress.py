"""Progress of long media work in media-hours, with the rate in × real time.

A prepare run over a library of movies counts titles badly: a 2-hour movie sits at 0 % for
many CPU-minutes. :class:`MediaHoursBar` is a tqdm bar whose unit is hours of media
(``done / total media-h``) and whose postfix gives the rate as media seconds per wall second
(``12.3× real time``) and the titles finished. Work inside a title reports seconds as it goes
through :func:`report` (``transcode_video``'s per-frame ``progress`` callback, wrapped by
:func:`frame_reporter`); in worker processes the reports travel through a queue set by
:func:`set_sink` and the parent drains them into the bar (:meth:`MediaHoursBar.drain`).
"""

from __future__ import annotations

import queue as _queue
import time
from typing import Any, Callable, Optional

__all__ = ["MediaHoursBar", "frame_reporter", "report", "set_sink"]

_SINK: Optional[Callable[[str, float], None]] = None


def set_sink(sink: Optional[Any]) -> None:
    """Where :func:`report` sends ``(title_id, seconds)``: a callable, a queue (its ``put``) or None."""
    global _SINK
    if sink is None or callable(sink):
        _SINK = sink
    else:
        _SINK = lambda title, seconds: sink.put((title, seconds))  # noqa: E731


def report(title_id: str, seconds: float) -> None:
    """``seconds`` more of ``title_id``'s media are done (no-op without a sink)."""
    if _SINK is not None and seconds > 0:
        _SINK(title_id, float(seconds))


def frame_reporter(title_id: str, fps: float, every: int = 16) -> Callable[[int], None]:
    """A ``progress(frames_written)`` callback reporting ``every`` frames as seconds of media."""
    last = [0]

    def on_frames(written: int) -> None:
        if written - last[0] >= every:
            report(title_id, (written - last[0]) / fps)
            last[0] = written

    return on_frames


class MediaHoursBar:
    """tqdm bar over ``total_s`` seconds of media, shown in hours, rate in × real time.

    ``add(title, seconds)`` counts in-title progress; ``finish(title, duration_s)`` completes a
    title (counting what its reports did not reach, or nothing for a title already over);
    a skipped title is finished the same way, so the bar always ends at its total.
    With ``item_unit`` (``"snippets"`` for ``binge embed``), ``add(..., items=n)`` also counts
    items and the postfix gives their rate (``41.0 snippets/s``).
    """

    def __init__(self, total_s: float, titles: int, desc: str = "prepare", disable: bool = False,
                 item_unit: Optional[str] = None):
        from tqdm.auto import tqdm

        self.total_s, self.titles, self.done_titles = float(total_s), titles, 0
        self.item_unit, self.items = item_unit, 0
        self.per_title: dict[str, float] = {}
        self.finished: set[str] = set()
        self.t0 = time.monotonic()
        self.bar = tqdm(total=round(self.total_s / 3600, 4), desc=desc, unit="media-h", disable=disable,
                        bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} media-h [{elapsed}<{remaining}{postfix}]")
        self._refresh_postfix()

    @property
    def done_s(self) -> float:
        return sum(self.per_title.values())

    def add(self, title: str, seconds: float, items: int = 0) -> None:
        """In-title progress (``items``: work items done with it, e.g. snippets); a report that
        arrives after its title finished is ignored."""
        if title not in self.finished:
            self.items += items
            self._count(title, seconds)

    def finish(self, title: str, duration_s: float) -> None:
        rest = max(float(duration_s) - self.per_title.get(title, 0.0), 0.0)
        self.finished.add(title)
        self.done_titles += 1
        self._count(title, rest)

    def _count(self, title: str, seconds: float) -> None:
        self.per_title[title] = self.per_title.get(title, 0.0) + seconds
        # a title can transcode a little more than its probed duration: the bar stops at its total
        self.bar.update(max(min(round(seconds / 3600, 6), self.bar.total - self.bar.n), 0.0))
        self._refresh_postfix()

    def drain(self, q, timeout: float = 0.0) -> None:
        """Move every ``(title, seconds)`` waiting in ``q`` into the bar."""
        try:
            title, seconds = q.get(timeout=timeout) if timeout else q.get_nowait()
            self.add(title, seconds)
            while True:
                title, seconds = q.get_nowait()
                self.add(title, seconds)
        except _queue.Empty:
            pass

    def rate(self) -> float:
        """Media seconds per wall-clock second so far (× real time)."""
        return self.done_s / max(time.monotonic() - self.t0, 1e-9)

    def item_rate(self) -> float:
        """Items (``item_unit``) per wall-clock second so far."""
        return self.items / max(time.monotonic() - self.t0, 1e-9)

    def _refresh_postfix(self) -> None:
        items = f", {self.item_rate():.1f} {self.item_unit}/s" if self.item_unit else ""
        self.bar.set_postfix_str(f"{self.rate():.1f}× real time{items}, "
                                 f"{self.done_titles}/{self.titles} titles", refresh=False)

    def close(self) -> None:
        self.bar.close()
