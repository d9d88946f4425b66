"""Dataset over any root in the shared data layout: ``<root>/<TASK>/<modA>/<name>.png`` + ``<modB>/``.

``list_pairs(root, subset)`` finds pairs (subset 'all', 'train' or 'val', the latter two from
:mod:`fccf_train.split`); ``load_pair`` returns both sources as float32 YCbCr planes in [-1, 1]
(shape [C, H, W], C = 1 for grey, 3 for colour: Y, Cb, Cr). ``CropSampler`` draws training batches
(task-balanced, random rescale, crop, flips, 90-degree rotations) of aligned clean pairs
``a, b`` [N, 1, S, S] with ``task`` [N] int64 and ``chan`` [N] int64 (0 = Y, 1 = Cb, 2 = Cr of B for
full-colour plans; A is always its Y plane). Degradations (misalignment, noise) are applied later in
:mod:`fccf_train.degrade` so their ground truth stays at hand.

Example::

    pairs = list_pairs("/work/shared/data/train", "train")
    sampler = CropSampler(pairs, crop=96, seed=0)
    batch = sampler.batch(8)   # dict(a, b, task, chan)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .colour import rgb_to_ycbcr, to_unit
from .split import validation_names
from .tasks import TASKS, Task, task_by_name

Subset = Literal["all", "train", "val"]


@dataclass(frozen=True)
class PairRef:
    task: Task
    name: str
    path_a: str
    path_b: str


class DataError(ValueError):
    """A dataset root or file that cannot be used; the message says which and why."""


def list_pairs(root: str, subset: Subset = "all", tasks: list[str] | None = None) -> list[PairRef]:
    if not os.path.isdir(root):
        raise DataError(f"{root}: not a directory; expected a dataset root with <TASK>/<modality>/<name>.png")
    wanted = [task_by_name(t) for t in tasks] if tasks else list(TASKS)
    out: list[PairRef] = []
    for task in wanted:
        da, db = os.path.join(root, task.name, task.dir_a), os.path.join(root, task.name, task.dir_b)
        if not (os.path.isdir(da) and os.path.isdir(db)):
            continue
        names_a = {os.path.splitext(f)[0] for f in os.listdir(da) if f.lower().endswith(".png")}
        names_b = {os.path.splitext(f)[0] for f in os.listdir(db) if f.lower().endswith(".png")}
        names = sorted(names_a & names_b)
        if subset != "all":
            val = validation_names(task.name, names)
            names = [n for n in names if (n in val) == (subset == "val")]
        out += [PairRef(task, n, os.path.join(da, n + ".png"), os.path.join(db, n + ".png")) for n in names]
    if not out:
        raise DataError(f"{root}: no image pairs found for tasks {[t.name for t in wanted]} (subset {subset})")
    return out


def load_plane(path: str) -> np.ndarray:
    """PNG -> float32 [C, H, W] in [-1, 1]; colour images as Y, Cb, Cr (BT.601 full range)."""
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode in ("L", "I;16", "I"):
                arr = np.asarray(im, dtype=np.float64)
                if arr.max(initial=0) > 255:
                    arr = arr / 257.0
                return to_unit(arr)[None].astype(np.float32)
            rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    except OSError as e:
        raise DataError(f"{path}: cannot read image ({e}); expected an 8-bit PNG") from e
    return to_unit(rgb_to_ycbcr(rgb, channel_axis=-1)).transpose(2, 0, 1).astype(np.float32)


def load_pair(ref: PairRef) -> tuple[np.ndarray, np.ndarray]:
    a, b = load_plane(ref.path_a), load_plane(ref.path_b)
    if a.shape[1:] != b.shape[1:]:
        raise DataError(f"{ref.path_b}: size {b.shape[1:]} differs from {ref.path_a} {a.shape[1:]}")
    return a, b


def channel_pair(a: np.ndarray, b: np.ndarray, task: Task, chan: int) -> tuple[np.ndarray, np.ndarray]:
    """The (A, B) planes the network fuses for one pass: A's Y against B's channel ``chan``."""
    if chan and task.plan != "full-colour":
        raise ValueError(f"task {task.name} (plan {task.plan}) only fuses Y")
    bc = b[chan] if b.shape[0] == 3 else b[0]
    if chan and b.shape[0] != 3:
        bc = np.zeros_like(b[0])  # grey functional image: neutral chroma
    return a[0], bc


class CropSampler:
    """Task-balanced random crops of aligned clean pairs held in memory."""

    def __init__(self, pairs: list[PairRef], crop: int = 96, seed: int = 0, chroma_prob: float = 0.4) -> None:
        self.crop = crop
        self.chroma_prob = chroma_prob
        self.rng = np.random.default_rng(seed)
        self.by_task: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for ref in pairs:
            self.by_task.setdefault(ref.task.id, []).append(load_pair(ref))
        self.task_ids = sorted(self.by_task)

    def _one(self) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        tid = int(self.rng.choice(self.task_ids))
        task = TASKS[tid]
        a, b = self.by_task[tid][int(self.rng.integers(len(self.by_task[tid])))]
        chan = 0
        if task.plan == "full-colour" and self.rng.random() < self.chroma_prob:
            chan = int(self.rng.integers(1, 3))
        pa, pb = channel_pair(a, b, task, chan)
        x = torch.from_numpy(np.stack([pa, pb]))[None]
        h, w = x.shape[-2:]
        # rescale: train images are downsized to 320 px while test images are full size
        scale = float(np.exp(self.rng.uniform(np.log(0.7), np.log(1.6))))
        scale = max(scale, (self.crop + 2) / min(h, w))
        nh, nw = max(self.crop, round(h * scale)), max(self.crop, round(w * scale))
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
        y0 = int(self.rng.integers(0, nh - self.crop + 1))
        x0 = int(self.rng.integers(0, nw - self.crop + 1))
        x = x[0, :, y0 : y0 + self.crop, x0 : x0 + self.crop]
        if self.rng.random() < 0.5:
            x = x.flip(-1)
        if self.rng.random() < 0.3:
            x = x.flip(-2)
        x = torch.rot90(x, int(self.rng.integers(4)), (-2, -1))
        return x[0:1].clone(), x[1:2].clone(), tid, chan

    def batch(self, n: int) -> dict[str, torch.Tensor]:
        items = [self._one() for _ in range(n)]
        return {
            "a": torch.stack([i[0] for i in items]).clamp(-1, 1),
            "b": torch.stack([i[1] for i in items]).clamp(-1, 1),
            "task": torch.tensor([i[2] for i in items], dtype=torch.long),
            "chan": torch.tensor([i[3] for i in items], dtype=torch.long),
        }
