"""Progress reporting for long runs: live lines for people, JSON Lines for servers.

``Reporter`` writes to stderr (stdout stays for results). In ``text`` mode a TTY gets
lines redrawn in place and a pipe gets plain lines at most every ~10 s; in ``json``
mode every record is one JSON object on its own line::

    {"ts": "2026-11-01T12:00:00.123Z", "level": "info", "event": "step_end",
     "message": "proving", "label": "proving", "seconds": 12.345, "ok": true}

``quiet`` silences everything; errors are the caller's to print.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator, Literal, Optional, TextIO

__all__ = ["Reporter", "Progress", "format_duration", "format_rate"]

Mode = Literal["text", "json"]

# A TTY line is redrawn at most this often (~5 times a second) ...
REDRAW_SECONDS = 0.2
# ... and a pipe or a log collector gets a progress record at most this often.
PERIODIC_SECONDS = 10.0
BAR_WIDTH = 20


def format_duration(seconds: float) -> str:
    """``12.3s`` under a minute, ``3m05s`` under an hour, ``1h02m`` beyond."""
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    if round(seconds, 1) < 60:
        return f"{seconds:.1f}s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02d}m"


def format_rate(per_second: float) -> str:
    """``1,234/s``, ``12.3/s``, or per minute when slower than one a second (slow batches)."""
    if per_second >= 100:
        return f"{per_second:,.0f}/s"
    if per_second >= 1:
        return f"{per_second:.1f}/s"
    return f"{per_second * 60:.1f}/min"


class Reporter:
    """Progress on ``stream`` (default: ``sys.stderr`` at construction time).

    ``mode`` is ``"text"`` for people or ``"json"`` for one JSON object per line;
    ``quiet`` prints nothing at all. ``clock`` is injectable so tests need not sleep.
    All output goes through one lock, so worker threads may report concurrently.
    """

    def __init__(
        self,
        mode: Mode = "text",
        quiet: bool = False,
        stream: Optional[TextIO] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in ("text", "json"):
            raise ValueError(f"unknown log format {mode!r} (text or json)")
        self.mode: Mode = mode
        self.quiet = quiet
        # Resolved now, not at import, so a replaced sys.stderr (pytest's capsys) is honoured.
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.clock = clock
        isatty = getattr(self.stream, "isatty", None)
        self.tty = mode == "text" and bool(isatty and isatty())
        self._lock = threading.RLock()
        self._live_len = 0  # width of the line currently drawn in place (TTY only)
        self._open_bars = 0  # a spinner stays still while a bar owns the line

    # -- plain messages ---------------------------------------------------------------

    def info(self, message: str, *, event: str = "info", **fields: object) -> None:
        """Text: prints ``message``. JSON: a record with ``event``, ``message`` and ``fields``."""
        self._message("info", event, message, fields)

    def warn(self, message: str, *, event: str = "warning", **fields: object) -> None:
        """Like ``info``, at level ``warning`` (text: prefixed ``warning:``)."""
        self._message("warning", event, message, fields)

    def _message(self, level: str, event: str, message: str, fields: dict[str, object]) -> None:
        if self.quiet:
            return
        if self.mode == "json":
            self._record(level, event, message, fields)
        else:
            self._line(message if level == "info" else f"{level}: {message}")

    # -- a block with a spinner -------------------------------------------------------

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Runs the block as one named step: a live elapsed-time spinner on a TTY and a
        ``✓``/``✗`` line at the end; in JSON, ``step_start`` and ``step_end`` records."""
        if self.quiet:
            yield
            return
        start = self.clock()
        if self.mode == "json":
            self._record("info", "step_start", label, {"label": label})
        stop = threading.Event()
        spinner = None
        if self.tty:
            spinner = threading.Thread(target=self._spin, args=(label, start, stop), daemon=True)
            spinner.start()
        ok = False
        try:
            yield
            ok = True
        finally:
            stop.set()
            if spinner:
                spinner.join()
            seconds = self.clock() - start
            if self.mode == "json":
                fields = {"label": label, "seconds": round(seconds, 3), "ok": ok}
                self._record("info", "step_end", label, fields)
            else:
                self._line(f"{'✓' if ok else '✗'} {label} ({format_duration(seconds)})")

    def _spin(self, label: str, start: float, stop: threading.Event) -> None:
        frames = "|/-\\"
        i = 0
        while not stop.wait(REDRAW_SECONDS):
            with self._lock:
                if not self._open_bars:
                    self._draw(f"{frames[i % 4]} {label} … {format_duration(self.clock() - start)}")
            i += 1

    # -- a counted loop with a bar ----------------------------------------------------

    @contextmanager
    def bar(self, label: str, total: Optional[int], unit: str = "items") -> Iterator[Progress]:
        """Counts units of work (``advance``) against ``total`` (``None``: unknown, then
        only the count and the rate are shown). Ends with a ``✓``/``✗`` line, or in JSON
        a ``progress_end`` record."""
        progress = Progress(self, label, total, unit)
        if self.quiet:
            yield progress
            return
        with self._lock:
            self._open_bars += 1
            progress._report(force=True)
        ok = False
        try:
            yield progress
            ok = True
        finally:
            with self._lock:
                self._open_bars -= 1
                progress._finish(ok)

    # -- output (callers hold no lock; these take it) ---------------------------------

    def _record(self, level: str, event: str, message: str, fields: dict[str, object]) -> None:
        ts = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"ts": ts, "level": level, "event": event, "message": message, **fields}
        # default=str: a Path or Decimal in fields is logged as text, never an exception.
        text = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _line(self, text: str) -> None:
        """A finished line; on a TTY it replaces whatever was drawn in place."""
        with self._lock:
            if self.tty and self._live_len:
                pad = " " * max(0, self._live_len - len(text))
                self.stream.write(f"\r{text}{pad}\n")
                self._live_len = 0
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def _draw(self, text: str) -> None:
        """Redraws the in-place line (TTY only), padding over a longer previous one."""
        with self._lock:
            pad = " " * max(0, self._live_len - len(text))
            self.stream.write(f"\r{text}{pad}")
            self.stream.flush()
            self._live_len = len(text)


class Progress:
    """The counter a ``Reporter.bar`` block yields. ``advance`` is safe from any thread."""

    def __init__(self, reporter: Reporter, label: str, total: Optional[int], unit: str) -> None:
        self._reporter = reporter
        self.label = label
        self.unit = unit
        self._total = total
        self._done = 0
        self._start = reporter.clock()
        self._last_report = self._start

    @property
    def done(self) -> int:
        return self._done

    @property
    def total(self) -> Optional[int]:
        return self._total

    def advance(self, n: int = 1) -> None:
        """Counts ``n`` more units done."""
        with self._reporter._lock:
            self._done += n
            if not self._reporter.quiet:
                self._report()

    def set_total(self, total: Optional[int]) -> None:
        """Sets or corrects the total once it is known (``None``: unknown)."""
        with self._reporter._lock:
            self._total = total
            if not self._reporter.quiet:
                self._report()

    def rate(self, now: Optional[float] = None) -> Optional[float]:
        """Units a second over the whole run; ``None`` before the first unit."""
        elapsed = (self._reporter.clock() if now is None else now) - self._start
        if self._done <= 0 or elapsed <= 0:
            return None
        return self._done / elapsed

    def eta(self, now: Optional[float] = None) -> Optional[float]:
        """Seconds left at the run's rate; ``None`` with no total or before the first unit."""
        rate = self.rate(now)
        if rate is None or self._total is None:
            return None
        return max(0, self._total - self._done) / rate

    def line(self, now: float, graphic: bool) -> str:
        """``label  [#####.....]  42%  1,234/4,096 batches  12.3/s  ETA 3m05s``."""
        parts = [self.label]
        if self._total is not None:
            fraction = min(1.0, self._done / self._total) if self._total > 0 else 1.0
            if graphic:
                filled = int(fraction * BAR_WIDTH)
                parts.append(f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]")
            parts.append(f"{int(fraction * 100):3d}%")
            parts.append(f"{self._done:,}/{self._total:,} {self.unit}")
        else:
            parts.append(f"{self._done:,} {self.unit}")
        rate = self.rate(now)
        if rate is not None:
            parts.append(format_rate(rate))
        eta = self.eta(now)
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        return "  ".join(parts)

    # Called with the reporter's lock held.
    def _report(self, force: bool = False) -> None:
        r = self._reporter
        now = r.clock()
        interval = REDRAW_SECONDS if r.tty else PERIODIC_SECONDS
        if not force and now - self._last_report < interval:
            return
        if r.tty:
            self._last_report = now
            r._draw(self.line(now, graphic=True))
        elif not force:  # pipes and JSON: nothing at the start, then one line per interval
            self._last_report = now
            if r.mode == "json":
                r._record("info", "progress", self.line(now, graphic=False), self._fields(now))
            else:
                r._line(self.line(now, graphic=False))

    def _finish(self, ok: bool) -> None:
        r = self._reporter
        now = r.clock()
        seconds = now - self._start
        if r.mode == "json":
            fields = self._fields(now)
            del fields["eta_s"]
            fields.update(seconds=round(seconds, 3), ok=ok)
            r._record("info", "progress_end", self.line(now, graphic=False), fields)
            return
        count = f"{self._done:,}/{self._total:,}" if self._total is not None else f"{self._done:,}"
        rate = self.rate(now)
        speed = f", {format_rate(rate)}" if rate is not None else ""
        mark = "✓" if ok else "✗"
        r._line(f"{mark} {self.label}: {count} {self.unit} in {format_duration(seconds)}{speed}")

    def _fields(self, now: float) -> dict[str, object]:
        rate = self.rate(now)
        eta = self.eta(now)
        return {
            "label": self.label,
            "unit": self.unit,
            "done": self._done,
            "total": self._total,
            "rate": None if rate is None else round(rate, 3),
            "eta_s": None if eta is None else round(eta, 1),
        }
