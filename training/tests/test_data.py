"""Dataset layout, validation split, colour conversion and crops."""
from __future__ import annotations

import numpy as np
import pytest

from fccf_train.colour import rgb_to_ycbcr, ycbcr_to_rgb
from fccf_train.data import CropSampler, DataError, list_pairs, load_pair
from fccf_train.split import validation_names
from fccf_train.tasks import TASKS, graph_task_id, task_by_name

from .helpers import write_tiny_dataset


def test_task_registry() -> None:
    assert [t.id for t in TASKS] == list(range(8))
    assert task_by_name("MED-SPECT").plan == "full-colour" and task_by_name("MED-SPECT").dir_a == "MRI"
    assert task_by_name("MEF").strategy == "mean" and task_by_name("VI-NIR").strategy == "mean"
    assert task_by_name("VI-IR").strategy == "max"
    with pytest.raises(ValueError, match="unknown task"):
        task_by_name("XX")


def test_split_is_stable_and_disjoint() -> None:
    names = [f"img{i:03d}" for i in range(200)]
    val = validation_names("VI-IR", names)
    assert val == validation_names("VI-IR", list(reversed(names)))
    assert 8 <= len(val) <= 35
    assert validation_names("PIF", ["a", "b"]) == set() or len(validation_names("PIF", ["a", "b"])) <= 1
    assert len(validation_names("MEF", ["a", "b", "c", "d"])) >= 1


def test_split_top_up_extends_the_percentage_split_in_hash_order() -> None:
    from fccf_train.split import VAL_PERCENT, pair_hash, set_min_pairs

    names = [f"c{i:04d}" for i in range(40)]
    base = validation_names("VI-NIR", names)
    try:
        set_min_pairs(16)
        big = validation_names("VI-NIR", names)
        assert base < big and len(big) == 40 // 5  # capped at a fifth of the task
        order = sorted(names, key=lambda n: (pair_hash("VI-NIR", n) % 100, pair_hash("VI-NIR", n)))
        assert big == set(order[: len(big)])  # the lowest hash buckets, as the percentage rule picks
        assert all(pair_hash("VI-NIR", n) % 100 < VAL_PERCENT for n in base)
        many = [f"m{i:04d}" for i in range(300)]
        set_min_pairs(0)
        ten = validation_names("MED-SPECT", many)
        set_min_pairs(16)
        assert validation_names("MED-SPECT", many) == ten  # large tasks already hold more than 16
        with pytest.raises(ValueError, match=">= 0"):
            set_min_pairs(-1)
    finally:
        set_min_pairs(0)


def test_ycbcr_known_values_and_roundtrip() -> None:
    rgb = np.array([[[255, 0, 0], [255, 255, 255], [0, 0, 0]]], dtype=np.float64)
    ycc = rgb_to_ycbcr(rgb, channel_axis=-1)
    assert np.allclose(ycc[0, 0], [76.245, 84.972, 255.5], atol=1e-3)
    assert np.allclose(ycc[0, 1], [255, 128, 128], atol=1e-6)
    assert np.allclose(ycbcr_to_rgb(ycc, channel_axis=-1), rgb, atol=1e-3)


def test_pairs_crops_and_errors(tmp_path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"))
    pairs = list_pairs(root)
    assert len(pairs) == 10 and {p.task.name for p in pairs} == {"VI-IR", "MED-SPECT"}
    a, b = load_pair(next(p for p in pairs if p.task.name == "MED-SPECT"))
    assert a.shape == (1, 40, 48) and b.shape == (3, 40, 48)
    assert a.min() >= -1 and a.max() <= 1
    s = CropSampler(pairs, crop=32, seed=0, chroma_prob=1.0)
    batch = s.batch(16)
    assert batch["a"].shape == (16, 1, 32, 32) and batch["b"].shape == (16, 1, 32, 32)
    med = batch["task"] == 3
    assert bool((batch["chan"][med] > 0).all()) and bool((batch["chan"][~med] == 0).all())
    again = CropSampler(pairs, crop=32, seed=0, chroma_prob=1.0).batch(16)
    assert all(bool((batch[k] == again[k]).all()) for k in batch)
    with pytest.raises(DataError, match="not a directory"):
        list_pairs(str(tmp_path / "missing"))
    with pytest.raises(DataError, match="no image pairs"):
        list_pairs(root, tasks=["MEF"])


def test_graph_task_ids_per_strategy() -> None:
    vi, mef = task_by_name("VI-IR"), task_by_name("MEF")
    assert graph_task_id(vi, None, conditioned=False) == 0 and graph_task_id(vi, "max", conditioned=False) == 0
    assert graph_task_id(vi, "max", conditioned=True) == 0 and graph_task_id(vi, "mean", conditioned=True) == 8
    assert graph_task_id(mef, None, conditioned=True) == 6 + 8  # MEF's training default is mean
    with pytest.raises(ValueError, match="trained with strategy 'max' only for VI-IR"):
        graph_task_id(vi, "mean", conditioned=False)
    with pytest.raises(ValueError, match="unknown strategy 'median'"):
        graph_task_id(vi, "median", conditioned=True)
