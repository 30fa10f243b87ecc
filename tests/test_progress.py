"""Progress off a terminal (a log file, a pipe): whole lines, at most one per interval plus the last, never silent."""

import io

from stylegan import progress


class _Log(io.StringIO):
    def isatty(self):
        return False


def test_lines_off_a_terminal(monkeypatch):
    log = _Log()
    monkeypatch.setattr("sys.stderr", log)
    monkeypatch.setattr(progress, "LOG_INTERVAL", 3600.0)  # No line between the first and the last.
    with progress.progress_bar(total=50, desc="eq", unit="img") as bar:
        for _ in range(50):
            bar.set_postfix(d="0.5", refresh=False)
            bar.update(1)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 2
    assert lines[0].startswith("eq: 0/50 img (0%)") and lines[1].startswith("eq: 50/50 img (100%)")
    assert lines[1].endswith("img/s, d=0.5")


def test_every_interval_and_disabled(monkeypatch):
    log = _Log()
    monkeypatch.setattr("sys.stderr", log)
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)
    assert list(progress.progress_bar(iter(range(3)), desc="frames", unit="frame")) == [0, 1, 2]
    assert log.getvalue().splitlines()[-1].startswith("frames: 3 frame")  # No total: a count and a rate.
    assert len(log.getvalue().splitlines()) >= 4
    log.truncate(0)
    assert list(progress.progress_bar(range(3), desc="x", unit="img", enabled=False)) == [0, 1, 2]
    assert log.getvalue() == ""
