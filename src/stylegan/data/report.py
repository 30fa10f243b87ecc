"""What the dataset tool did with each source file: kept (as which member, with which conversions) or skipped (why)."""

from __future__ import annotations

import collections
import dataclasses


@dataclasses.dataclass(frozen=True)
class FileResult:
    source: str                     # path relative to the source folder/zip
    kept_as: str | None = None      # official member name when kept, e.g. '00000/img00000003.png'
    skipped: str | None = None      # reason when not kept: "<kind>" or "<kind>: <detail>"
    notes: tuple[str, ...] = ()     # conversions applied to a kept file ("CMYK -> RGB", "upscaled from 20x30")


def _kind(text: str) -> str:
    """'duplicate of a.png' -> 'duplicate'; 'truncated or corrupt (x)' -> 'truncated or corrupt'; numbers dropped."""
    head = text.split(" (")[0].split(":")[0]
    for marker in (" of ", " from "):
        head = head.split(marker)[0]
    return head


@dataclasses.dataclass(frozen=True)
class PrepareReport:
    source: str
    dest: str
    resolution: int                 # output width = height (the image band is shorter for center-crop-wide)
    channels: int                   # 1, 3 or 4
    files: tuple[FileResult, ...]   # every source file considered, in source order
    label_dim: int                  # 0 when the output has no labels
    class_names: tuple[str, ...] = ()
    not_processed: int = 0          # usable files left over after --max-images
    preview: str | None = None
    report_path: str | None = None

    @property
    def num_kept(self) -> int:
        return sum(f.kept_as is not None for f in self.files)

    @property
    def num_skipped(self) -> int:
        return sum(f.skipped is not None for f in self.files)

    def skip_counts(self) -> dict[str, int]:
        return dict(collections.Counter(_kind(f.skipped) for f in self.files if f.skipped).most_common())

    def note_counts(self) -> dict[str, int]:
        return dict(collections.Counter(_kind(n) for f in self.files for n in f.notes).most_common())

    def summary(self) -> str:
        """A few lines: where, what shape, how many kept and skipped (by reason), conversions (by kind)."""
        mode = {1: "grayscale", 3: "RGB", 4: "RGBA"}[self.channels]
        labels = f", {self.label_dim} classes" if self.label_dim else ", no labels"
        lines = [f"{self.dest}: {self.num_kept} images, {self.resolution}x{self.resolution} {mode}{labels}",
                 f"  kept {self.num_kept}, skipped {self.num_skipped}"
                 + (f", not processed {self.not_processed} (--max-images)" if self.not_processed else "")]
        lines += [f"  skipped {n:>6}  {kind}" for kind, n in self.skip_counts().items()]
        lines += [f"  note    {n:>6}  {kind}" for kind, n in self.note_counts().items()]
        if any("upscaled" in n for f in self.files for n in f.notes):
            lines.append("  warning: some images were smaller than the output and were upscaled (blurry)")
        return "\n".join(lines)

    def to_text(self, limit: int | None = None, every_file: bool = True) -> str:
        """The summary, then one line per file (only skipped and converted ones unless every_file; at most limit)."""
        per_file = [f"  skipped  {f.source}: {f.skipped}" if f.skipped else
                    f"  kept     {f.source} -> {f.kept_as}" + (f": {'; '.join(f.notes)}" if f.notes else "")
                    for f in self.files if every_file or f.skipped or f.notes]
        lines = [f"source: {self.source}", self.summary()] + (["", "per file:"] + per_file[:limit] if per_file else [])
        if limit is not None and len(per_file) > limit:
            lines.append(f"  ... {len(per_file) - limit} more in {self.report_path}")
        if self.class_names:
            lines += ["", "classes: " + ", ".join(f"{i}={n}" for i, n in enumerate(self.class_names))]
        return "\n".join(lines) + "\n"
