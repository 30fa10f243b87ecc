"""Labels of a source or prepared dataset: `dataset.json` ({"labels": [[relative_path, label], ...] | null}, the
official layout; a label is a class index or a list of floats) or the names of class sub-folders."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..errors import UserError
from .archive import LABELS_FILE, Archive

Label = int | tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class SourceLabels:
    by_name: dict[str, Label]           # relative image path -> label
    class_names: tuple[str, ...] = ()   # only for labels from folder names
    origin: str = LABELS_FILE           # where they came from, for messages


def parse_labels_json(obj, where: str) -> dict[str, Label] | None:
    """Validate a parsed dataset.json; None when it says "labels": null. Mixed int/vector labels are an error."""
    if not isinstance(obj, dict) or "labels" not in obj:
        raise UserError(f'{where}: expected {{"labels": [[path, label], ...]}} or {{"labels": null}}')
    if obj["labels"] is None:
        return None
    out: dict[str, Label] = {}
    for entry in obj["labels"] if isinstance(obj["labels"], list) else [None]:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise UserError(f"{where}: each label entry must be [relative_path, label], got {entry!r}")
        name, label = entry[0].replace("\\", "/"), entry[1]
        if isinstance(label, int) and not isinstance(label, bool) and label >= 0:
            out[name] = label
        elif isinstance(label, list) and all(isinstance(v, (int, float)) for v in label):
            out[name] = tuple(float(v) for v in label)
        else:
            raise UserError(f"{where}: label of {name!r} must be a class index >= 0 or a list of numbers")
    if len({type(v) for v in out.values()}) > 1 or len({len(v) for v in out.values() if isinstance(v, tuple)}) > 1:
        raise UserError(f"{where}: labels must be all class indices or all vectors of one length")
    return out


def labels_from_json(archive: Archive) -> SourceLabels | None:
    parsed = parse_labels_json(archive.read_json(LABELS_FILE), f"{archive.path}/{LABELS_FILE}") \
        if LABELS_FILE in archive.names else None
    return None if parsed is None else SourceLabels(parsed)


def labels_from_dirs(path: str, image_names: list[str]) -> tuple[SourceLabels, list[str]]:
    """Class = first sub-folder under the folders all images share (so a zip of one wrapping folder works).

    Returns the labels and the images that sit outside any class folder.
    """
    parts = [n.split("/") for n in image_names]
    depth = len(os.path.commonprefix([p[:-1] for p in parts])) if parts else 0
    classes = sorted({p[depth] for p in parts if len(p) > depth + 1})
    if not classes:
        raise UserError(f"{path}: --labels-from-dirs needs images in class sub-folders (none found)")
    index = {c: i for i, c in enumerate(classes)}
    by_name = {n: index[p[depth]] for n, p in zip(image_names, parts) if len(p) > depth + 1}
    loose = [n for n in image_names if n not in by_name]
    return SourceLabels(by_name, tuple(classes), origin="folder names"), loose


def to_array(labels: list[Label]) -> np.ndarray:
    """Stored labels -> [N, label_dim] float32: one-hot for class indices (dim = max + 1), as-is for vectors."""
    if not labels:
        return np.zeros([0, 0], np.float32)
    if isinstance(labels[0], int):
        idx = np.asarray(labels, np.int64)
        onehot = np.zeros([len(idx), int(idx.max()) + 1], np.float32)
        onehot[np.arange(len(idx)), idx] = 1
        return onehot
    return np.asarray(labels, np.float32).reshape(len(labels), -1)
