"""Progress for long work: a tqdm bar on a terminal; off one (a log file, a pipe, nohup, a job scheduler) one plain
line every `LOG_INTERVAL` seconds and a last one at the end, so a long run is never silent in its log."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable

LOG_INTERVAL = 30.0  # Seconds between progress lines off a terminal.
_LOG_FORMAT = ("{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), {elapsed} elapsed, ETA {remaining}, "
               "{rate_fmt}{postfix}")


class _Lines:
    """A file for tqdm that turns its carriage-return redraws into whole lines (blank redraws dropped)."""

    def __init__(self, stream):
        self.stream, self.closed = stream, False

    def write(self, text: str) -> None:
        try:
            for line in text.replace("\r", "\n").split("\n"):
                if line.strip() and not self.closed:
                    self.stream.write(" ".join(line.split()) + "\n")
        except OSError:  # A log reader that has gone (`2>&1 | head`): progress is not worth stopping the work for.
            self.closed = True

    def flush(self) -> None:
        with contextlib.suppress(OSError):
            self.stream.flush()


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str, unit: str,
                 enabled: bool = True):
    """A tqdm object on stderr: iterate it, or call .update and .close (it is also a context manager). Call
    .set_postfix with refresh=False, so that off a terminal it does not print a line on every call."""
    from tqdm import tqdm

    stream = sys.stderr
    if not enabled:
        return tqdm(iterable, total=total, disable=True)
    if stream.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, mininterval=1.0,
                    file=stream)
    fmt = _LOG_FORMAT if total is not None or hasattr(iterable, "__len__") else "{desc}: {n_fmt} {unit}, {rate_fmt}"
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=True, mininterval=LOG_INTERVAL,
                maxinterval=LOG_INTERVAL, bar_format=fmt, file=_Lines(stream))


class _Forgiving:
    """A console stream whose reader may go away: the first failed write sends the rest of it to the null device."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError:
            silence(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            silence(self._stream)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def console_may_close():
    """Inside, stdout and stderr whose reader has gone (`2>&1 | head` after head has exited, a closed terminal) are
    sent to the null device at their first failed write instead of raising, so that the work goes on."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Forgiving(sys.stdout), _Forgiving(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def silence(stream) -> None:
    """Send the rest of `stream` (stdout, stderr) to the null device: Python's recipe for a pipe whose reader has
    gone, so that later writes, and the flush at exit, do not fail again."""
    with contextlib.suppress(OSError, ValueError):
        stream.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)
