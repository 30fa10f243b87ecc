"""Folders and zip files seen the same way (sorted relative names + bytes), and the official dataset layout writer.

Official layout (NVlabs dataset_tool.py): `00000/img00000000.png`, `00000/img00000001.png`, ... (a new folder every
1000 images), plus `dataset.json` = {"labels": [[name, label], ...] | null}; a zip destination stores its members
uncompressed (ZIP_STORED).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import numpy as np
import PIL.Image

from ..errors import UserError
from ..files import atomic_path
from ..images import to_pil

LABELS_FILE = "dataset.json"
META_FILE = "meta.json"  # Ours: per-image provenance and named subsets; official tools ignore it.
OFFICIAL_NAME = re.compile(r"^\d{5}/img\d{8}\.png$")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # Fixed member dates make rebuilt zips byte-identical.


def image_extensions() -> frozenset[str]:
    """Lower-case extensions Pillow knows (the official loader's rule for what counts as an image)."""
    PIL.Image.init()
    return frozenset(ext.lower() for ext in PIL.Image.EXTENSION)


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in image_extensions()


def archive_name(idx: int) -> str:
    """Index -> official member name, e.g. 1234 -> '00001/img00001234.png'."""
    s = f"{idx:08d}"
    return f"{s[:5]}/img{s}.png"


class Archive:
    """Read-only view of a folder (recursive) or a .zip: `names` (posix, sorted) and `read(name)`.

    The zip handle is reopened in each process, so DataLoader workers (fork or spawn) never share a file offset.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise UserError(f"{path}: no such file or folder")
        self.is_zip = self.path.is_file()
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid = -1
        if self.is_zip:
            if not zipfile.is_zipfile(self.path):
                raise UserError(f"{path}: not a folder or a .zip file")
            infos = self._zipfile().infolist()
            self.names = sorted(i.filename for i in infos if not i.is_dir())
        else:
            self.names = sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file())

    def _zipfile(self) -> zipfile.ZipFile:
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip = zipfile.ZipFile(self.path)
            self._zip_pid = os.getpid()
        return self._zip

    def read(self, name: str) -> bytes:
        if self.is_zip:
            return self._zipfile().read(name)
        return (self.path / name).read_bytes()

    def open(self, name: str) -> IO[bytes]:
        """A binary stream (for reading just an image header without the whole file)."""
        return self._zipfile().open(name) if self.is_zip else open(self.path / name, "rb")

    def read_json(self, name: str):
        """Parsed JSON member, or None when absent; malformed JSON is a UserError naming the file."""
        if name not in self.names:
            return None
        try:
            return json.loads(self.read(name))
        except (ValueError, UnicodeDecodeError) as e:
            raise UserError(f"{self.path}: {name} is not valid JSON ({e})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._zip = None

    def __getstate__(self) -> dict:
        return dict(self.__dict__, _zip=None, _zip_pid=-1)


def encode_png(arr: np.ndarray, compress_level: int) -> bytes:
    """HWC uint8 (1, 3 or 4 channels) -> PNG bytes."""
    buf = io.BytesIO()
    to_pil(arr).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


@contextlib.contextmanager
def layout_writer(dest: str | Path, replace: bool = False) -> Iterator[Callable[[str, bytes], None]]:
    """Yield put(name, data) writing into a folder or an uncompressed zip; `dest` appears only if the block succeeds.

    An existing `dest` folder is replaced (only once the new one is complete) if `replace`, else refused."""
    dest = Path(dest)
    with atomic_path(dest, replace_folder=replace) as tmp:
        if dest.suffix.lower() == ".zip":
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:

                def put_zip(name: str, data: bytes) -> None:
                    zf.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), data, compress_type=zipfile.ZIP_STORED)

                yield put_zip
        else:
            tmp.mkdir()

            def put_dir(name: str, data: bytes) -> None:
                p = tmp / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)

            yield put_dir


def json_bytes(obj) -> bytes:
    return json.dumps(obj, indent=1).encode("utf-8")
