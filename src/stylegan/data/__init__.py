"""Datasets: read prepared ones (`ImageDataset`, `open_dataset`) and make them from pictures (`prepare_dataset`)."""

from .dataset import ImageDataset, open_dataset
from .prepare import PrepareOptions, prepare_dataset
from .report import FileResult, PrepareReport

__all__ = ["FileResult", "ImageDataset", "PrepareOptions", "PrepareReport", "open_dataset", "prepare_dataset"]
