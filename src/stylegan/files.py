"""Atomic file and directory writes (partial results never appear under their final name), and safe .npz reads."""

from __future__ import annotations

import contextlib
import errno
import functools
import glob
import json
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import UserError


def check_output_dir(path: str | Path) -> Path:
    """`path` as a folder to write into (it may not exist yet): a UserError now, before any work, if a file stands
    where it or one of its parents should be."""
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise UserError(f"{p}: is a file, not a folder" + (f" (needed for {path})" if p != path else ""))
            break
    return path


def make_output_dir(path: str | Path) -> Path:
    """Create the folder `path` (and its parents) to write into; a one-line UserError naming it if that fails."""
    path = check_output_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _cannot_write(path, e) from None
    return path


def _cannot_write(path: Path, error: OSError) -> UserError:
    return UserError(f"{path}: cannot write here ({error.strerror or type(error).__name__})")


def check_output_file(path: str | Path) -> Path:
    """`path` as a file to (over)write: a UserError now if it is an existing folder (never replaced) or a file stands
    where one of its parent folders should be."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is an existing folder (not overwritten); give another name")
    check_output_dir(path.parent)
    return path


@functools.cache
def _default_file_mode() -> int:
    """0o666 less the process umask (what open() gives a new file; safetensors writes 0o600); read once."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | Path, replace_folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it to `path`, on error delete it.

    Works for files and directories (whatever the caller creates at the yielded path). Temporaries of earlier writes
    to `path` that were killed (kill -9, power loss) are removed first, once stale. An existing file at `path` is
    replaced; an existing folder is refused (UserError) before the caller starts, unless `replace_folder` (the caller
    has checked that it may go): it is then deleted only once the new one is complete. A file made at the temporary
    path gets the permissions of a newly created file (umask), whatever the writer chose.
    """
    path = Path(path)
    if not (replace_folder and path.is_dir()):
        check_output_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as e:  # Named after the destination, not the hidden temporary name.
        raise _cannot_write(path, e) from None
    os.close(fd)
    os.unlink(tmp)  # The caller creates a file or a directory there.
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, _default_file_mode())
        elif path.is_file():
            path.unlink()  # A folder replaces a file of the same name.
        if path.is_dir():  # Only with replace_folder: moved aside, then deleted once the new one is in place.
            old = tmp.with_suffix(".old.partial")
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    except Exception as e:
        if _disk_full(e, path.parent):  # One line for a common failure that libraries word in many ways.
            raise UserError(f"{path}: not written, no space left on the device ({e})") from None
        raise
    finally:
        _remove(tmp)


def _disk_full(error: Exception, folder: Path) -> bool:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    if "no space left" in str(error).lower():  # safetensors: "No space left on device (os error 28)".
        return True
    if isinstance(error, (OSError, RuntimeError)):  # torch.save: "file write failed".
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free < DISK_FULL_BYTES
    return False


DISK_FULL_BYTES = 1 << 20  # Free space under which a failed write is put down to a full disk.


def _remove(path: Path) -> None:
    """Delete a file or a folder tree, if there."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_partials(folder: str | Path) -> list[Path]:
    """Delete the temporary files and folders of atomic writes that never finished in `folder` (a process killed
    mid-write: kill -9, power loss); returns what was removed. Only for folders one process writes at a time."""
    removed = sorted(Path(folder).glob(".*.partial"))
    for p in removed:
        _remove(p)
    return removed


_HELD: dict[str, list] = {}  # Folders this process holds: realpath -> [fd, depth].


@contextlib.contextmanager
def exclusive_folder(folder: str | Path, what: str) -> Iterator[None]:
    """Hold `folder` for this process (an advisory lock on the folder itself, released when the process ends, even
    by a kill): a second process asking for it gets a UserError naming `what`. Re-entrant within one process;
    a no-op where the OS has no flock (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    key = os.path.realpath(folder)
    if key in _HELD:
        _HELD[key][1] += 1
    else:
        fd = os.open(key, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"{what} {folder} is in use by another process; wait for it to end, or stop it") from None
        except OSError:  # A file system without locks (some network mounts): go on unguarded, as before locks.
            os.close(fd)
            yield
            return
        _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            os.close(_HELD.pop(key)[0])  # Closing the descriptor releases the lock.


STALE_SECONDS = 600  # A temporary file of an atomic write not touched for this long has lost its writer.


def remove_stale_partials(path: str | Path) -> list[Path]:
    """Delete the temporary files of earlier atomic writes to `path` that were killed mid-write (untouched for
    STALE_SECONDS, so not another process writing it now); returns what was removed. Every atomic write does this."""
    path = Path(path)
    now, removed = time.time(), []
    for p in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > STALE_SECONDS:
                _remove(p)
                removed.append(p)
    return removed


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz file, read with allow_pickle=False; a missing or unreadable file is a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: not a readable .npz file ({type(e).__name__})") from None


def read_jsonl(path: str | Path) -> list[dict]:
    """The objects of a JSON-lines file, skipping lines that do not parse (the torn last line of a killed writer)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out
