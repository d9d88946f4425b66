"""Export of a tiny randomly initialised model: ONNX graphs, parity in onnxruntime-node, card, fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from fccf_train import export
from fccf_train.card import CONTRACT_VERSION, build_card
from fccf_train.model import FusionNet, ModelConfig
from fccf_train.noise import estimate_noise
from fccf_train.parity import FLOAT_TOLERANCE, replay_case, write_case
from fccf_train.tasks import TASKS

from .helpers import random_model

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to run onnxruntime-node")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[FusionNet, export.Graphs]:
    model = random_model(ModelConfig(), seed=0)
    graphs = export.export_graphs(model, tmp_path_factory.mktemp("onnx"), "tiny")
    return model, graphs


def test_onnx_matches_pytorch(tiny: tuple[FusionNet, export.Graphs]) -> None:
    model, graphs = tiny
    # a size other than the export trace size proves H and W are dynamic
    diffs = export.check_parity(model, graphs, h=40, w=56)
    assert diffs["encoder"] <= 1e-4 and diffs["denoiser"] <= 1e-4, diffs


def test_grown_denoiser_exports_within_tolerance(tmp_path: Path) -> None:
    model = random_model(ModelConfig(den=(16, 32), den_mid=3), seed=3)
    graphs = export.export_graphs(model, tmp_path, "grown")
    diffs = export.check_parity(model, graphs, h=40, w=56)
    assert diffs["encoder"] <= 1e-4 and diffs["denoiser"] <= 1e-4, diffs


def test_bilinear_mask_head_exports_with_dynamic_size(tmp_path: Path) -> None:
    model = random_model(ModelConfig(mask_head="bilinear"), seed=1)
    graphs = export.export_graphs(model, tmp_path, "bil")
    diffs = export.check_parity(model, graphs, h=40, w=56)
    assert diffs["encoder"] <= 1e-4 and diffs["denoiser"] <= 1e-4, diffs
    # the mask logits reach their upsampling through a channel sum, not a Conv (model.one_channel_1x1:
    # onnxruntime would run a one-channel Conv's successors on 16 padded channels)
    nodes = onnx.load(str(graphs.encoder.path)).graph.node
    producer = {out: n.op_type for n in nodes for out in n.output}
    resized = [producer.get(n.input[0]) for n in nodes if n.op_type == "Resize"]
    assert len(resized) == 3 and resized.count("Conv") == 0, resized


def test_graph_specs_name_the_contract(tiny: tuple[FusionNet, export.Graphs]) -> None:
    _, graphs = tiny
    enc = [n for n, _, _ in graphs.encoder.outputs]
    assert enc[-3:] == ["comp", "mask", "flow"]
    den = [n for n, _, _ in graphs.denoiser.inputs]
    assert den[:2] == ["x_t", "t"] and den[2:] == graphs.feature_names + ["comp"]
    m = onnx.load(str(graphs.encoder.path))
    assert m.opset_import[0].version == export.OPSET
    assert [i.name for i in m.graph.input] == ["cond", "task"]
    assert [o.name for o in m.graph.output] == enc


def test_card_lists_every_task(tiny: tuple[FusionNet, export.Graphs]) -> None:
    model, graphs = tiny
    card = build_card("tiny", graphs, model, {t.name: 0.1 for t in TASKS}, 4, {}, {"data": "none"})
    assert card["contract"] == CONTRACT_VERSION
    tasks = card["tasks"]
    assert isinstance(tasks, list) and [t["id"] for t in tasks] == list(range(len(TASKS)))
    json.dumps(card)  # serialisable
    with pytest.raises(ValueError, match="no default strength for tasks"):
        build_card("tiny", graphs, model, {}, 4, {}, {})
    assert card["max_strength"] == 1.0 and all("denoise" not in t for t in tasks)
    rule = [{"sigma": 5.0, "strength": 0.0}, {"sigma": 15.0, "strength": 0.01}]
    low = build_card("tiny", graphs, model, {t.name: 0.0 for t in TASKS}, 4, {}, {}, max_strength=0.02,
                     denoise={"VI-IR": rule})
    assert low["max_strength"] == 0.02
    assert [t.get("denoise") for t in low["tasks"]] == [rule] + [None] * (len(TASKS) - 1)


def test_parity_case_replays(tiny: tuple[FusionNet, export.Graphs], tmp_path: Path) -> None:
    model, _ = tiny
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (20, 27, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (20, 27), dtype=np.uint8)
    case = write_case(model, tmp_path / "c", a, b, "VI-IR", 0.25, 3, 11)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "c" / "a.png")), a)
    saved = json.loads((tmp_path / "c" / "case.json").read_text())
    assert saved["timesteps"] == case["timesteps"] and len(saved["noise"][0]) == 24 * 32
    assert len(saved["fused_planes"][0]) == 20 * 27
    assert saved["noise_estimate"] == {"a": estimate_noise(a), "b": estimate_noise(b)} and saved["denoise"] is False


def test_denoise_parity_case_takes_its_strength_from_the_rule(tiny: tuple[FusionNet, export.Graphs], tmp_path: Path) -> None:
    from fccf_train.ship import DENOISE_CASE, write_denoise_case

    model, _ = tiny
    rule = [{"sigma": 5.0, "strength": 0.0}, {"sigma": 25.0, "strength": 0.02}]
    cid = write_denoise_case(model, tmp_path, rule, "max", None)
    case = json.loads((tmp_path / cid / "case.json").read_text())
    est = case["noise_estimate"]
    # the crops carry added noise of std 25 (the estimate reads it within 15%), so the rule refines at 0.02
    assert DENOISE_CASE[6] == 25.0 and abs(max(est["a"], est["b"]) / 25.0 - 1) < 0.15
    assert case["denoise"] is True and case["strength"] == 0.02 and cid.endswith("-denoise25-s0.02-n4")
    assert replay_case(model, tmp_path / cid)["png"] == 0


def test_parity_case_replays_on_onnx(tiny: tuple[FusionNet, export.Graphs], tmp_path: Path) -> None:
    # The whole inference procedure on the ONNX graphs (onnxruntime-node) reproduces the fixture.
    model, graphs = tiny
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (19, 22, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (19, 22, 3), dtype=np.uint8)
    write_case(model, tmp_path / "c", a, b, "MEF", 0.3, 3, 2)
    diffs = replay_case(export.OrtModel(graphs, model.cfg), tmp_path / "c")
    assert max(diffs["fused"], diffs["composite"], diffs["mask"]) <= FLOAT_TOLERANCE, diffs
    assert diffs["png"] <= 1


def test_strategy_conditioned_card_and_fixture(tmp_path: Path) -> None:
    # one graph task id per (task, strategy); the card's id is the default strategy's, and a parity
    # case made with the non-default strategy replays on the ONNX graphs with the strategy it names
    model = random_model(ModelConfig(strategies=True), seed=1)
    graphs = export.export_graphs(model, tmp_path / "onnx", "tiny-s")
    defaults = {t.name: "max" for t in TASKS}
    card = build_card("tiny-s", graphs, model, {t.name: 0.0 for t in TASKS}, 4, {}, {}, default_strategies=defaults)
    n = len(TASKS)
    rows = {t["name"]: t for t in card["tasks"]}  # type: ignore[union-attr]
    assert rows["MEF"]["strategy"] == "max" and rows["MEF"]["id"] == 6
    assert rows["MEF"]["strategies"] == {"max": 6, "mean": 6 + n}
    assert all(r["register"] == "none" for r in rows.values())
    card = build_card("tiny-s", graphs, model, {t.name: 0.0 for t in TASKS}, 4, {}, {}, default_registers={"MFF": "ngf"})
    assert [t["register"] for t in card["tasks"]] == ["ngf" if t.name == "MFF" else "none" for t in TASKS]  # type: ignore[union-attr]
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (18, 21), dtype=np.uint8)
    b = rng.integers(0, 256, (18, 21), dtype=np.uint8)
    c_max = write_case(model, tmp_path / "max", a, b, "VI-IR", 0.0, 3, 0, strategy="max")
    c_mean = write_case(model, tmp_path / "mean", a, b, "VI-IR", 0.0, 3, 0, strategy="mean")
    assert c_mean["strategy"] == "mean" and c_mean["composite_planes"] != c_max["composite_planes"]
    diffs = replay_case(export.OrtModel(graphs, model.cfg), tmp_path / "mean")
    assert max(diffs["fused"], diffs["composite"], diffs["mask"]) <= FLOAT_TOLERANCE, diffs


def test_lineage_follows_init_checkpoints_with_their_training_time(tmp_path: Path) -> None:
    from fccf_train.ship import _lineage

    base, mid = tmp_path / "base.pt", tmp_path / "mid.pt"
    torch.save({"step": 900, "elapsed": 600.0, "args": {"init": None}}, base)
    torch.save({"step": 300, "elapsed": 120.0, "args": {"init": str(base)}}, mid)
    chain = _lineage({"init": str(mid)})
    assert [(c["step"], c["wall_minutes"]) for c in chain] == [(300, 2.0), (900, 10.0)]
    assert _lineage({}) == []
    assert _lineage({"init": str(tmp_path / "gone.pt")}) == [{"checkpoint": str(tmp_path / "gone.pt"), "wall_minutes": None}]


def test_network_flow_gate_is_baked_into_the_encoder_graph(tmp_path: Path) -> None:
    from fccf_train.tasks import task_by_name

    model = random_model(ModelConfig(), seed=2)
    model.set_network_flow(["MEF"])
    graphs = export.export_graphs(model, tmp_path, "gated")
    cond = (np.random.default_rng(0).random((2, 2, 32, 48), dtype=np.float32) * 2 - 1).astype(np.float32)
    ids = np.array([task_by_name("MEF").id, task_by_name("VI-IR").id], dtype=np.int64)
    got = export.ort_run(graphs.encoder.path, {"cond": cond, "task": ids})
    with torch.no_grad():
        ref = model.encoder(torch.from_numpy(cond), torch.from_numpy(ids))
    assert float(np.abs(got["flow"][0]).max()) == 0.0 and float(np.abs(got["flow"][1]).max()) > 1e-3
    assert float(np.abs(got["flow"] - ref[-1].numpy()).max()) <= 1e-4
    card = build_card("gated", graphs, model, {t.name: 0.0 for t in TASKS}, 4, {}, {})
    assert [t["name"] for t in card["tasks"] if not t["network_flow"]] == ["MEF"]  # type: ignore[index, union-attr]


@pytest.mark.parametrize("cfg", [ModelConfig(mask_head="bilinear"),
                                 ModelConfig(mask_head="bilinear", den=(16, 32), den_mid=2)])
def test_recover_rebuilds_the_exported_model(tmp_path: Path, cfg: ModelConfig) -> None:
    from fccf_train.recover import recover, write_checkpoint
    from fccf_train.gate import load_model

    model = random_model(cfg, seed=2)
    model.set_network_flow(["MEF", "MFF"])
    graphs = export.export_graphs(model, tmp_path, "rec")
    card = {"config": model.cfg.to_dict(), "graphs": {"encoder": {"file": graphs.encoder.path.name},
                                                       "denoiser": {"file": graphs.denoiser.path.name}},
            "tasks": [{"name": t.name, "network_flow": t.name not in ("MEF", "MFF")} for t in TASKS],
            "training": {"step": 7, "wall_minutes": 1.5, "args": {"val_min": 16}}}
    (tmp_path / "rec.json").write_text(json.dumps(card))
    got, missing = recover(tmp_path / "rec.json")
    want = model.state_dict()
    # only the training-only correlation scale is not in the graphs
    assert missing == ["encoder.log_scale"]
    assert all(torch.equal(v, want[k]) for k, v in got.state_dict().items() if k not in missing)
    assert torch.equal(got.encoder.flow_gate, model.encoder.flow_gate) and got.encoder.flow_gate.min() == 0
    write_checkpoint(tmp_path / "rec.json", tmp_path / "ck.pt")
    back = load_model(tmp_path / "ck.pt")
    assert all(torch.equal(v, want[k]) for k, v in back.state_dict().items() if k not in missing)
    assert torch.load(tmp_path / "ck.pt")["args"]["val_min"] == 16
