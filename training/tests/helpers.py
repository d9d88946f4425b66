"""A tiny dataset in the shared layout, written to a temp folder, for fast end-to-end tests."""
from __future__ import annotations

import os

import numpy as np
from PIL import Image


def write_tiny_dataset(root: str, size: tuple[int, int] = (48, 40), pairs: int = 5) -> str:
    """Two tasks (VI-IR: colour + grey; MED-SPECT: grey MRI + colour SPECT), ``pairs`` each."""
    rng = np.random.default_rng(0)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    for task, (da, ca), (db, cb) in (("VI-IR", ("vi", 3), ("ir", 1)), ("MED-SPECT", ("MRI", 1), ("SPECT", 3))):
        for d in (da, db):
            os.makedirs(os.path.join(root, task, d), exist_ok=True)
        for i in range(pairs):
            base = 128 + 100 * np.sin(xx / (3 + i) + rng.uniform(0, 6)) * np.cos(yy / 5)
            for d, c, shift in ((da, ca, 0), (db, cb, 40)):
                img = np.clip(base + shift * np.cos(xx / 7.0) + rng.normal(0, 5, base.shape), 0, 255)
                if c == 3:
                    img = np.stack([img, img[::-1, :] * 0.8, 255 - img], -1)
                Image.fromarray(img.astype(np.uint8)).save(os.path.join(root, task, d, f"p{i}.png"))
    return root


def random_model(cfg: "ModelConfig | None" = None, seed: int = 0) -> "FusionNet":
    """A FusionNet (eval mode) with every weight moved off its initialisation: zero-initialised heads
    would make export parity and weight round trips trivial."""
    import torch

    from fccf_train.model import FusionNet, ModelConfig

    torch.manual_seed(seed)
    model = FusionNet(cfg or ModelConfig()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model
