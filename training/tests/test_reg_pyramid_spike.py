"""The registration experiment runs end to end: shapes, finite losses, gradients into both descriptor nets."""
from __future__ import annotations

from pathlib import Path

import torch

from fccf_train.data import list_pairs
from fccf_train.reg_pyramid_spike import PyramidReg, loss_terms, train, validation_epe

from .helpers import write_tiny_dataset


def test_forward_shapes_and_gradients() -> None:
    torch.manual_seed(0)
    net = PyramidReg()
    a, b = torch.rand(2, 1, 64, 96) * 2 - 1, torch.rand(2, 1, 64, 96) * 2 - 1
    out = net(a, b, torch.tensor([0, 6]))
    assert out["flow"].shape == (2, 2, 64, 96) and out["flow8"].shape == (2, 2, 64, 96)
    assert out["logits8"].shape == (2, 25, 8, 12) and out["logits4"].shape == (2, 9, 16, 24)
    loss = loss_terms(out, torch.full((2, 2, 64, 96), 1.5))
    assert torch.isfinite(loss)
    loss.backward()
    for part in (net.desc_a, net.desc_b, net.refine4):
        assert any(float(p.grad.abs().sum()) > 0 for p in part.parameters() if p.grad is not None)


def test_train_and_validation_run_on_a_tiny_dataset(tmp_path: Path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"), size=(96, 64), pairs=3)
    torch.manual_seed(0)
    net = PyramidReg()
    assert train(net, list_pairs(root, "all"), minutes=5, steps=3, log=lambda _: None, crop=64, batch=2) == 3
    res = validation_epe(net, list_pairs(root, "all"), per_task=1)
    assert set(res) == {"VI-IR", "MED-SPECT"}
    assert all(r["pairs"] == 1 and r["epe_before"] > 0 and torch.isfinite(torch.tensor(r["epe_after"])) for r in res.values())
