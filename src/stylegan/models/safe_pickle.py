"""A no-exec reader for the official NVlabs snapshot pickles (stylegan2-ada-pytorch and stylegan3 repositories).

The official format stores every network as `torch_utils.persistence._reconstruct_persistent_obj(meta)` where
`meta` carries the defining module's source text, which NVIDIA's loader `exec()`s. We never execute anything:
an allow-listed Unpickler resolves only the globals listed below; `_reconstruct_persistent_obj` becomes a
`PersistentStub` that keeps `class_name` and the module's `state` dict, and the source text is ignored.
Any other global is refused with `UnsafePickleError` naming it, before it can be called.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import torch


class UnsafePickleError(pickle.UnpicklingError):
    """The file references a global outside the allow-list (it could run code); nothing was executed."""


@dataclass
class PersistentStub:
    """Stand-in for an official persistent network object: its class name and its `__dict__` state."""

    class_name: str
    state: dict
    version: int

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs", {}))

    def child(self, name: str) -> "PersistentStub | None":
        return self.state.get("_modules", {}).get(name)


class EasyDict(dict):
    """Attribute-access dict standing in for dnnlib.util.EasyDict (a plain dict subclass, no behaviour)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e


def _reconstruct_persistent_obj(meta: dict) -> PersistentStub:
    # Deliberately ignores meta["module_src"]: the source text is never compiled or executed.
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise UnsafePickleError("unexpected persistent-object record in pickle")
    return PersistentStub(class_name=str(meta.get("class_name")), state=meta.get("state") or {},
                          version=int(meta.get("version", -1)))


def _load_storage_from_bytes(b: bytes):
    # Each storage is a nested legacy torch.save blob; torch's own restricted unpickler reads it.
    return torch.load(io.BytesIO(b), weights_only=True, map_location="cpu")


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("numpy scalar of object dtype refused")
    return np.frombuffer(data, dtype=dtype, count=1)[0] if data is not None else dtype.type()


def _numpy_reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise UnsafePickleError(f"numpy array subtype {subtype!r} refused")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _numpy_dtype(*args):
    dt = np.dtype(*args)
    return dt


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _numpy_dtype,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global '{module}.{name}': it is not on the allow-list of an official StyleGAN "
                f"snapshot (the file may try to run code)"
            ) from None

    def persistent_load(self, pid):
        raise UnsafePickleError("persistent ids are not used by official snapshots; refusing")


def safe_load(f: BinaryIO) -> Any:
    """Unpickle an official snapshot without executing code from it."""
    return _SafeUnpickler(f).load()


def flatten_state_dict(stub: PersistentStub, prefix: str = "") -> dict[str, torch.Tensor]:
    """Rebuild `module.state_dict()` from a stub tree: parameters, persistent buffers, then children, recursively."""
    out: dict[str, torch.Tensor] = {}
    state = stub.state
    non_persistent = set(state.get("_non_persistent_buffers_set", ()))
    for name, t in state.get("_parameters", {}).items():
        if t is not None:
            out[prefix + name] = t.detach()
    for name, t in state.get("_buffers", {}).items():
        if t is not None and name not in non_persistent:
            out[prefix + name] = t.detach()
    for name, child in state.get("_modules", {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentStub):
            raise UnsafePickleError(f"unexpected module type at {prefix + name}: {type(child).__name__}")
        out.update(flatten_state_dict(child, prefix + name + "."))
    return out
