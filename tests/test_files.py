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
