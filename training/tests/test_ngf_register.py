"""The classical registration baseline recovers a known smooth misalignment of a textured image."""
from __future__ import annotations

import numpy as np
import torch

from fccf_train.ngf_register import register_ngf
from fccf_train.robustness import _warp_image, misalignment


def _scene(h: int = 96, w: int = 128) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    img = 128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 40 * np.sign(np.sin(xx / 11.0 + yy / 13.0))
    img = img + rng.normal(0, 3, (h, w))
    return np.clip(img, 10, 245).astype(np.uint8)


def test_recovers_most_of_a_known_misalignment_also_across_modalities() -> None:
    torch.set_num_threads(1)
    a = _scene()
    g, flow_true = misalignment(*a.shape, torch.Generator().manual_seed(3))
    ft = flow_true[0].numpy()
    epe0 = float(np.mean(np.linalg.norm(ft, axis=0)))
    for b in (a, 255 - a):  # same modality, and an inverted one (NGF ignores gradient sign)
        flow = register_ngf(a, _warp_image(b, g))
        epe = float(np.mean(np.linalg.norm(flow - ft, axis=0)))
        assert epe0 > 2.0 and epe < 0.3 * epe0, (epe0, epe)


def test_aligned_pair_gives_a_near_zero_flow() -> None:
    torch.set_num_threads(1)
    a = _scene()
    flow = register_ngf(a, a)
    assert float(np.mean(np.linalg.norm(flow, axis=0))) < 0.1
