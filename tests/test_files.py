"""Atomic writes: an existing folder is never replaced, files get the usual permissions, errors come before work."""

import os
import stat

import pytest

from stylegan import checkpoint, files
from stylegan.errors import UserError
from stylegan.files import atomic_path, check_output_dir, write_text_atomic


def test_existing_folder_is_refused_and_kept(tmp_path, tiny_G):
    folder = tmp_path / "runs"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="runs: is an existing folder"):
        checkpoint.save(tiny_G, folder)
    with pytest.raises(UserError, match="is an existing folder"):
        write_text_atomic(folder, "x")
    assert (folder / "sub" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # No temporary left behind.


def test_a_file_in_place_of_a_folder_is_refused_before_the_work(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(UserError, match="afile: is a file, not a folder"):
        check_output_dir(blocker / "sub")
    entered = []
    with pytest.raises(UserError, match="afile: is a file, not a folder"):
        with atomic_path(blocker / "out.png"):
            entered.append(True)
    assert not entered


def test_written_files_get_the_umask_permissions(tmp_path, tiny_G):
    old = os.umask(0o022)
    files._default_file_mode.cache_clear()  # (Read once per process.)
    try:
        checkpoint.save(tiny_G, tmp_path / "net.safetensors")  # safetensors itself creates files 0o600.
    finally:
        os.umask(old)
        files._default_file_mode.cache_clear()
    assert stat.S_IMODE((tmp_path / "net.safetensors").stat().st_mode) == 0o666 & ~0o022


def test_a_file_is_replaced(tmp_path):
    path = tmp_path / "a.txt"
    write_text_atomic(path, "one")
    write_text_atomic(path, "two")
    assert path.read_text() == "two" and os.listdir(tmp_path) == ["a.txt"]


def test_an_unwritable_folder_is_named_not_the_temporary(tmp_path, monkeypatch):
    def denied(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", os.path.join(dir, prefix + "x1y2" + suffix))

    monkeypatch.setattr(files.tempfile, "mkstemp", denied)  # As a read-only folder (root ignores chmod here).
    with pytest.raises(UserError) as e:
        write_text_atomic(tmp_path / "out.txt", "x")
    assert str(e.value) == f"{tmp_path / 'out.txt'}: cannot write here (Permission denied)"


def test_a_closed_output_pipe_ends_quietly(tmp_path, official):
    import subprocess
    import sys

    r, w = os.pipe()
    os.close(r)  # The reader is gone before the first line, as `stylegan inspect X | head -0`.
    try:
        p = subprocess.run([sys.executable, "-m", "stylegan", "inspect", str(official / "snapshot-stylegan3-t.pkl")],
                           stdout=w, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(w)
    assert p.returncode == 141 and p.stderr == ""


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   RuntimeError("No space left on device (os error 28)")])  # safetensors' wording.
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(tmp_path, error):
    (tmp_path / "old.txt").write_text("kept")
    with pytest.raises(UserError, match=r"old.txt: not written, no space left on the device"):
        with atomic_path(tmp_path / "old.txt") as tmp:
            tmp.write_text("half")
            raise error
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"] and (tmp_path / "old.txt").read_text() == "kept"


def test_other_write_errors_pass_through(tmp_path):
    with pytest.raises(ValueError, match="not a disk problem"):
        with atomic_path(tmp_path / "x.txt"):
            raise ValueError("not a disk problem")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_use_is_refused_by_another_process(tmp_path):
    import subprocess
    import sys

    with files.exclusive_folder(tmp_path, "run directory"):
        with files.exclusive_folder(tmp_path, "run directory"):  # Re-entrant in one process.
            r = subprocess.run([sys.executable, "-c", "from stylegan.files import exclusive_folder\n"
                                f"with exclusive_folder({str(tmp_path)!r}, 'run directory'): pass"],
                               capture_output=True, text=True)
    assert r.returncode == 1 and f"run directory {tmp_path} is in use by another process" in r.stderr
    r = subprocess.run([sys.executable, "-c", "from stylegan.files import exclusive_folder\n"
                        f"with exclusive_folder({str(tmp_path)!r}, 'run directory'): pass"], capture_output=True)
    assert r.returncode == 0  # Released.


def test_a_killed_writers_leftover_is_removed_by_the_next_write_once_stale(tmp_path):
    old = tmp_path / ".out.zip.abc123.partial"  # As kill -9 during `stylegan dataset --dest out.zip` leaves it.
    fresh = tmp_path / ".out.zip.def456.partial"  # Another process writing it right now.
    other = tmp_path / ".other.zip.abc123.partial"
    for p in (old, fresh, other):
        p.write_bytes(b"half")
    long_ago = os.path.getmtime(old) - files.STALE_SECONDS - 1
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    write_text_atomic(tmp_path / "out.zip", "done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, other.name, "out.zip"])
