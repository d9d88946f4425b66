"""Quality-gate plumbing: reference table parsing, baseline reproduction, win counting, misalignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fccf_train import gate
from fccf_train.evaluate import baseline, evaluate_task
from fccf_train.metrics import METRICS_GATE
from fccf_train.robustness import misalignment, psnr255
from fccf_train.tasks import TASKS
from fccf_train.warp import warp

needs_shared = pytest.mark.skipif(not gate.REFERENCE.is_file(), reason="../shared is not available")


@needs_shared
def test_reference_rows_parse() -> None:
    rows = gate.reference_rows()
    assert set(rows) == {t.name for t in TASKS}
    for t in rows.values():
        assert {"baseline-mean", "baseline-max", "IFCNN"} <= set(t)
    assert rows["VI-IR"]["baseline-max"]["EN"] == 6.635
    assert rows["MFF"]["IFCNN"]["SSIM"] == 1.430


@needs_shared
def test_baselines_reproduce_reference_results() -> None:
    # The whole evaluation pipeline (I/O, evaluator greyscale, metrics, means) against the published rows.
    # MED-SPECT has a colour source, so the YCrCb -> RGB -> evaluator-grey round trip is exercised.
    for task in ("MED-CT", "MED-SPECT"):
        rows = gate.reference_rows()[task]
        for rule in ("mean", "max"):
            got = evaluate_task(gate.SHARED / "data" / "test", task, baseline(rule))
            for m in METRICS_GATE + ("AG",):
                assert abs(got[m] - rows[f"baseline-{rule}"][m]) <= 0.0011, (task, rule, m, got[m])


def test_wins_are_strict() -> None:
    ref = {m: 1.0 for m in METRICS_GATE}
    mine = dict(ref, EN=1.5, SD=0.5, SF=1.0 + 1e-9)
    assert gate.wins(mine, ref) == ["EN", "SF"]


def test_misalignment_is_bounded_and_inverted() -> None:
    gen = torch.Generator().manual_seed(3)
    h, w = 64, 80
    g, flow = misalignment(h, w, gen)
    peak = float(g.norm(dim=1).max())
    assert 4.0 - 1e-4 <= peak <= 8.0 + 1e-4
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    img = (torch.sin(xx / 7) + torch.cos(yy / 5))[None, None]
    back = warp(warp(img, g), flow)
    inner = (slice(None), slice(None), slice(12, h - 12), slice(12, w - 12))
    assert float((back - img)[inner].abs().mean()) < 0.02
    assert float((warp(img, g) - img)[inner].abs().mean()) > 0.1


def test_psnr255_known_answer() -> None:
    a = np.zeros((4, 4))
    assert psnr255(a + 255 / 10, a) == pytest.approx(20.0)
    assert psnr255(a, a) == float("inf")


def test_load_model_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint here"):
        gate.load_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(ValueError, match="not an fccf training checkpoint"):
        gate.load_model(bad)


def test_select_checkpoint_scores_on_validation_and_breaks_ties_late(tmp_path: Path) -> None:
    from fccf_train.model import FusionNet

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(72, 64), pairs=30)
    torch.manual_seed(0)
    net = FusionNet()
    paths = []
    for name in ("early.pt", "late.pt"):
        torch.save({"model": net.state_dict(), "ema": net.state_dict(), "config": net.cfg.to_dict()}, tmp_path / name)
        paths.append(str(tmp_path / name))
    res = gate.select_checkpoint(paths, root, log=lambda _: None, tasks=["VI-IR", "MED-SPECT"])
    assert res["selected"] == paths[1]  # identical scores: the later checkpoint
    cands = res["candidates"]
    assert cands[paths[0]] == cands[paths[1]]
    row = cands[paths[0]]["tasks"]["VI-IR"]
    pairs, refs = gate.validation_refs(root, "VI-IR")
    got = gate.evaluate_model(gate.load_model(paths[0]), pairs, 0.0, 1)
    assert row == {"vs_mean": len(gate.wins(got, refs["mean"])), "vs_max": len(gate.wins(got, refs["max"])), "strategy": "max"}


def test_defaults_choose_a_strategy_on_validation_and_read_back(tmp_path: Path) -> None:
    import json

    from fccf_train.model import FusionNet, ModelConfig

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(72, 64), pairs=30)
    torch.manual_seed(0)
    net = FusionNet(ModelConfig(strategies=True)).eval()
    with torch.no_grad():  # make the two strategies' rows differ, so the choice is a real one
        net.encoder.task_emb.weight[8:] += 0.5
    res = gate.choose_strengths(net, root, 1, log=lambda _: None, tasks=["VI-IR"])["VI-IR"]
    cands = res["candidates"]
    assert sorted({c["strategy"] for c in cands.values()}) == ["max", "mean"] and len(cands) == 2 * len(gate.STRENGTH_CANDIDATES)
    best = max(cands.values(), key=lambda c: (c["wins"], c["relative"], -c["strength"], c["strategy"] == "max"))
    assert (res["strategy"], res["strength"]) == (best["strategy"], best["strength"])
    pairs, refs = gate.validation_refs(root, "VI-IR")
    got = gate.evaluate_model(net, pairs, best["strength"], 1, strategy=best["strategy"])
    assert got == best["metrics"]
    # checkpoint selection scores a strategy-conditioned model with its better strategy per task
    torch.save({"model": net.state_dict(), "ema": net.state_dict(), "config": net.cfg.to_dict()}, tmp_path / "s.pt")
    row = gate.select_checkpoint([str(tmp_path / "s.pt")], root, log=lambda _: None, tasks=["VI-IR"])["candidates"][str(tmp_path / "s.pt")]["tasks"]["VI-IR"]
    counts = {}
    for st in ("max", "mean"):
        got = gate.evaluate_model(net, pairs, 0.0, 1, strategy=st)
        wm, wx = len(gate.wins(got, refs["mean"])), len(gate.wins(got, refs["max"]))
        counts[st] = (int(wm >= 6 and wx >= 4), wm + wx, st == "max")
    assert row["strategy"] == max(counts, key=counts.__getitem__)
    # a product that offers MAX and MEAN ships only a strategy-conditioned model: a single-strategy
    # candidate is scored but cannot be selected, even when it comes later (ties go late otherwise)
    plain = FusionNet()
    torch.save({"model": plain.state_dict(), "ema": plain.state_dict(), "config": plain.cfg.to_dict()}, tmp_path / "p.pt")
    both = [str(tmp_path / "s.pt"), str(tmp_path / "p.pt")]
    res_req = gate.select_checkpoint(both, root, log=lambda _: None, tasks=["VI-IR"], require_strategies=True)
    assert res_req["selected"] == both[0]
    assert res_req["candidates"][both[1]]["eligible"] is False and res_req["candidates"][both[0]]["eligible"] is True
    with pytest.raises(ValueError, match="strategy-conditioned"):
        gate.select_checkpoint(both[1:], root, log=lambda _: None, tasks=["VI-IR"], require_strategies=True)
    path = tmp_path / "strengths.json"
    path.write_text(json.dumps({"tasks": {"VI-IR": res, "MEF": {"strength": 0.1}}}))
    assert gate.read_defaults(path) == ({"VI-IR": res["strength"], "MEF": 0.1}, {"VI-IR": res["strategy"], "MEF": "mean"})
    with pytest.raises(FileNotFoundError, match="run `python -m fccf_train.gate strengths` first"):
        gate.read_defaults(tmp_path / "missing.json")


def test_aligned_cost_is_the_median_relative_fall() -> None:
    off = {m: 2.0 for m in METRICS_GATE}
    assert gate.aligned_cost(off, off) == 0.0
    # one metric of eight halving moves the median of the falls not at all; five falling 10% do
    assert gate.aligned_cost(off, dict(off, MI=1.0)) == 0.0
    assert gate.aligned_cost(off, {m: 1.8 if i < 5 else 2.0 for i, m in enumerate(METRICS_GATE)}) == pytest.approx(0.1)
    # a metric near zero doubling (SCD 0.15 -> 0.37) no longer outweighs four real falls
    near = dict(off, SCD=0.15)
    got = dict(near, SCD=0.37, MI=1.2, VIF=1.1, Qabf=1.3, SSIM=1.5)
    assert gate.aligned_cost(near, got) == pytest.approx(np.median([0, 0, 0, 0.4, -1.4667, 0.45, 0.35, 0.25]), abs=1e-3)
    assert gate.aligned_cost(near, got) > 0.1


def test_register_default_is_chosen_by_its_validation_rule_and_read_back(tmp_path: Path) -> None:
    import json

    from fccf_train.model import FusionNet

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(72, 64), pairs=30)
    torch.manual_seed(0)
    net = FusionNet().eval()
    res = gate.choose_registers(net, root, 1, {"VI-IR": 0.0}, {"VI-IR": "max"}, log=lambda _: None, tasks=["VI-IR"])["VI-IR"]
    off = res["validation"]["none"]
    # a fresh model has zero flow: without the pre-registration nothing of the misalignment is removed
    assert abs(off["epe_reduction"]) < 1e-9
    qualified = []
    for mode in ("ngf", "auto"):
        on = res["validation"][mode]
        if mode == "ngf":  # ngf changes every pair (validation topped up to 8); auto only those where it acts
            cpairs, where = gate.cost_pairs(root, "VI-IR")
            assert len(gate.validation_pairs(root, "VI-IR")) < gate.MIN_COST_PAIRS == len(cpairs)
            want_cost = gate.aligned_cost(gate.evaluate_model(net, cpairs, 0.0, 1, strategy="max"),
                                          gate.evaluate_model(net, cpairs, 0.0, 1, strategy="max", register="ngf"))
            assert on["aligned_cost"] == pytest.approx(want_cost)
            assert on["cost_pairs"] == {"split": "validation+training", "names": [p.name for p in cpairs]}
        if (on["epe_reduction"] >= off["epe_reduction"] + 0.10 and (on["pass"], on["wins"]) >= (off["pass"], off["wins"])
                and on["aligned_cost"] <= gate.MAX_ALIGNED_COST):
            qualified.append((on["epe_reduction"], mode))
    # ties go to the first listed (ngf): max() over (reduction, -index)
    want = max(qualified, key=lambda q: (q[0], -("ngf", "auto").index(q[1])))[1] if qualified else None
    assert res["register"] == want
    path = tmp_path / "strengths.json"
    path.write_text(json.dumps({"tasks": {"VI-IR": {"strength": 0.0, "register": "ngf"}, "MFF": {"register": "auto"}, "MEF": {"strength": 0.1}}}))
    regs = gate.read_registers(path)
    assert regs["VI-IR"] == "ngf" and regs["MFF"] == "auto" and regs["MEF"] is None and set(regs) == {t.name for t in TASKS}


def test_registration_table_reports_the_true_field_ceiling(tmp_path: Path) -> None:
    from fccf_train.model import FusionNet
    from fccf_train.robustness import registration_markdown, registration_table

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(64, 56), pairs=2)
    torch.manual_seed(0)
    net = FusionNet().eval()  # zero flow: the misaligned pair is fused as given
    res = registration_table(net, root, 2, 1, {"VI-IR": 0.0}, log=lambda _: None, tasks=["VI-IR"])["VI-IR"]
    s = res["summary"]
    assert s["reduction"] == pytest.approx(0.0, abs=1e-6)
    rows = res["pairs"]
    # undoing the misalignment with the true field recovers edges the misaligned pair lost
    assert all(r["qabf_true_field"] > r["qabf_misaligned"] for r in rows)
    assert s["qabf_true_field_ratio"] == pytest.approx(s["qabf_true_field"] / s["qabf_aligned"])
    assert f"{s['qabf_true_field']:.3f} ({s['qabf_true_field_ratio']:.1%})" in registration_markdown({"VI-IR": res})


def test_strategy_and_network_flow_are_chosen_together_and_read_back(tmp_path: Path) -> None:
    import json

    from fccf_train.model import FusionNet, ModelConfig

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(72, 64), pairs=30)
    torch.manual_seed(0)
    net = FusionNet(ModelConfig(strategies=True)).eval()
    with torch.no_grad():  # a flow that moves B, so that turning it off changes the output
        net.encoder.reg_gain.bias.fill_(1.0)
        for p in net.encoder.refine.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        for p in net.encoder.parameters():  # and strategies that differ (the task embedding reaches the mask)
            p.add_(torch.randn_like(p) * 0.05)
        net.encoder.task_emb.weight[8:] += 0.5
    res = gate.choose_strategy_and_flow(net, root, 1, {"VI-IR": 0.0}, {"VI-IR": "mean"}, log=lambda _: None, tasks=["VI-IR"])["VI-IR"]
    grid = res["network_flow_validation"]
    assert list(grid) == ["mean on", "mean off", "max on", "max off"]  # the incumbent first
    pairs, refs = gate.validation_refs(root, "VI-IR")
    for name, r in grid.items():
        st, mode = name.split()
        net.set_network_flow(["VI-IR"] if mode == "off" else [])
        got = gate.evaluate_model(net, pairs, 0.0, 1, strategy=st)
        assert r["metrics"] == got and r["wins"] == len(gate.wins(got, refs["mean"])) + len(gate.wins(got, refs["max"]))
        assert r["gain"] == pytest.approx(-gate.aligned_cost(grid["mean on"]["metrics"], got))
    net.set_network_flow([])
    # the flow and the strategy both change the output, so the grid is a real choice
    assert grid["max on"]["metrics"] != grid["max off"]["metrics"] and grid["mean on"]["metrics"] != grid["max on"]["metrics"]

    def key(r: dict) -> tuple:  # type: ignore[type-arg]
        return (r["pass"], r["wins"], r["gain"] if r["gain"] >= gate.MIN_FLOW_OFF_GAIN else 0.0)

    best = max(grid.values(), key=key)  # max() keeps the first of equal keys: the incumbent's order
    assert (res["strategy"], res["network_flow"]) == (best["strategy"], best["network_flow"])
    assert res["strengths_strategy"] == "mean"
    assert net.network_flow_off() == []  # the choice leaves the model as it found it
    # one strategy: the flow rule alone
    one = FusionNet().eval()
    alone = gate.choose_strategy_and_flow(one, root, 1, {"VI-IR": 0.0}, {"VI-IR": "max"}, log=lambda _: None, tasks=["VI-IR"])["VI-IR"]
    assert list(alone["network_flow_validation"]) == ["max on", "max off"] and alone["strategy"] == "max"
    path = tmp_path / "strengths.json"
    path.write_text(json.dumps({"tasks": {"VI-IR": {"network_flow": False}, "MFF": {"network_flow": True}, "MEF": {}}}))
    assert gate.read_network_flow(path) == ["VI-IR"]


def test_fusion_markdown_names_the_defaults_of_each_row() -> None:
    verdict = {m: {"count": 5, "pass": True, "needed": 4} for m in gate.GATE_RULES}
    metrics = {m: 1.0 for m in gate.METRICS_GATE + ("AG",)}
    rows = {"MFF": {"pairs": 2, "strategy": "max", "register": None, "network_flow": False, "strength": 0.0, "verdict": verdict, "metrics": metrics},
            "PIF": {"pairs": 2, "strategy": "max", "register": "auto", "network_flow": True, "strength": 0.0, "verdict": verdict, "metrics": metrics}}
    md = gate.fusion_markdown(rows)
    assert "| MFF | max, network flow off | 0.0 |" in md
    assert "| PIF | max + auto registration | 0.0 |" in md


def _same_content_root(root: Path, shift: dict[str, tuple[int, int]], n: int = 12) -> list[str]:
    """MEF pairs of one smooth texture each (B = a brighter copy of A), B rolled by ``shift[name]``."""
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(5)
    for d in ("under", "over"):
        (root / "MEF" / d).mkdir(parents=True, exist_ok=True)
    names = [f"q{i:02d}" for i in range(n)]
    for name in names:
        tex = gaussian_filter(rng.normal(0, 1, (64, 72)), 2.5)
        a = np.clip(110 + 400 * tex, 10, 245)
        b = np.roll(np.clip(0.8 * a + 40, 0, 255), shift.get(name, (0, 0)), (0, 1))
        for d, img in (("under", a), ("over", b)):
            Image.fromarray(np.repeat(img[..., None], 3, -1).astype(np.uint8)).save(root / "MEF" / d / f"{name}.png")
    return names


@needs_shared
def test_ngf_cost_pairs_top_up_a_small_validation_split_with_training_pairs(tmp_path: Path) -> None:
    from fccf_train import split

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(32, 32), pairs=50)
    val = [p.name for p in gate.validation_pairs(root, "VI-IR")]
    train = [p.name for p in gate.training_pairs(root, "VI-IR")]
    pairs, where = gate.cost_pairs(root, "VI-IR")
    names = [p.name for p in pairs]
    assert 0 < len(val) < gate.MIN_COST_PAIRS and where == "validation+training"
    # every validation pair first, then distinct training pairs spread over the names (first and last)
    assert len(names) == gate.MIN_COST_PAIRS and names[:len(val)] == val and len(set(names)) == len(names)
    assert set(names[len(val):]) <= set(train) and train[0] in names and train[-1] in names
    try:  # a validation split of at least 8 pairs is used alone
        split.set_min_pairs(10)
        pairs, where = gate.cost_pairs(root, "VI-IR")
        assert where == "validation" and [p.name for p in pairs] == [p.name for p in gate.validation_pairs(root, "VI-IR")]
        assert len(pairs) >= gate.MIN_COST_PAIRS
    finally:
        split.set_min_pairs(0)


def test_auto_cost_is_measured_on_the_pairs_where_auto_acts(tmp_path: Path) -> None:
    from fccf_train.model import FusionNet
    from fccf_train.split import validation_names

    torch.manual_seed(0)
    net = FusionNet().eval()
    names = _same_content_root(tmp_path / "aligned", {})
    val = sorted(validation_names("MEF", names))
    train = [n for n in names if n not in val]
    assert val and train
    # aligned pairs: auto leaves every B alone, so it costs nothing, wherever it is searched
    assert gate.auto_cost(net, tmp_path / "aligned", "MEF", 0.0, 1, "mean") == (0.0, "training", [])
    assert gate.auto_cost(net, tmp_path / "aligned", "MEF", 0.0, 1, "mean", fallback=False) == (0.0, "validation", [])
    # one moved training pair and none in validation: the cost comes from that pair alone
    root = tmp_path / "moved-train"
    _same_content_root(root, {train[3]: (3, -2)})
    cost, split, got = gate.auto_cost(net, root, "MEF", 0.0, 1, "mean")
    assert (split, got) == ("training", [train[3]])
    pair = [p for p in gate.training_pairs(root, "MEF") if p.name == train[3]]
    want = gate.aligned_cost(gate.evaluate_model(net, pair, 0.0, 1, strategy="mean"),
                             gate.evaluate_model(net, pair, 0.0, 1, strategy="mean", register="auto"))
    assert cost == pytest.approx(want) and cost != 0.0
    assert gate.auto_cost(net, root, "MEF", 0.0, 1, "mean", fallback=False) == (0.0, "validation", [])
    # a moved validation pair is the evidence, the training pairs are not searched
    root = tmp_path / "moved-val"
    _same_content_root(root, {val[0]: (-3, 2), train[3]: (3, -2)})
    assert gate.auto_cost(net, root, "MEF", 0.0, 1, "mean")[1:] == ("validation", [val[0]])


def test_gate_applies_the_split_its_checkpoints_were_trained_with(tmp_path: Path) -> None:
    from fccf_train import split

    paths = []
    for i, val_min in enumerate((16, 16, 0)):
        paths.append(str(tmp_path / f"c{i}.pt"))
        torch.save({"args": {"val_min": val_min}}, paths[-1])
    torch.save({"args": {"steps": 3}}, tmp_path / "old.pt")  # before --val-min: the 10% rule
    names = [f"c{i:04d}" for i in range(40)]
    try:
        assert gate.use_checkpoint_split(paths[:2]) == 16
        assert len(split.validation_names("VI-NIR", names)) == 8
        assert gate.use_checkpoint_split([str(tmp_path / "old.pt")]) == 0
        assert len(split.validation_names("VI-NIR", names)) < 8
        with pytest.raises(ValueError, match="different validation splits"):
            gate.use_checkpoint_split(paths)
    finally:
        split.set_min_pairs(0)


def test_defaults_table_shows_each_choice_with_its_evidence() -> None:
    rows = {
        "MEF": {"strength": 0.0, "strategy": "max", "validation_pairs": 8, "register": None, "network_flow": False,
                "network_flow_validation": {"on": {"wins": 9}, "off": {"wins": 11}},
                "validation": {"none": {"epe_reduction": 0.0, "wins": 11},
                               "ngf": {"epe_reduction": 0.8, "wins": 9, "aligned_cost": -0.13, "cost_pairs": {"split": "validation", "names": ["a"] * 8}},
                               "auto": {"epe_reduction": 0.8, "wins": 11, "aligned_cost": 0.026, "cost_pairs": {"split": "training", "names": ["b"] * 10}}}},
        "PIF": {"strength": 0.1, "strategy": "mean", "validation_pairs": 2, "register": "auto"},
        "VI-NIR": {"strength": 0.0, "strategy": "mean", "validation_pairs": 8, "network_flow": False,
                   "network_flow_validation": {"max on": {"vs_mean": 5, "vs_max": 2}, "max off": {"vs_mean": 5, "vs_max": 5},
                                               "mean on": {"vs_mean": 3, "vs_max": 4}, "mean off": {"vs_mean": 6, "vs_max": 4}}},
    }
    md = gate.defaults_markdown(rows).splitlines()
    assert md[-3] == ("| MEF | 8 | max | 0.0 | off (wins 9 -> 11 without it) | 0%, 11 wins | 80%, 9 wins, cost -13.0% on 8 validation pairs"
                      " | 80%, 11 wins, cost +2.6% on 10 training pairs | none |")
    assert md[-2] == "| PIF | 2 | mean | 0.1 | - | - | - | - | auto |"
    assert md[-1] == ("| VI-NIR | 8 | mean | 0.0 | off (wins vs mean/max: max on 5/2, max off 5/5, mean on 3/4, mean off 6/4)"
                      " | - | - | - | none |")


def test_compare_scores_both_models_at_their_defaults_on_the_candidates_split(tmp_path: Path) -> None:
    import json

    from fccf_train import compare, split
    from fccf_train.model import FusionNet, ModelConfig

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(72, 64), pairs=30)
    torch.manual_seed(0)
    nets = {"new": FusionNet(ModelConfig(strategies=True)).eval(), "old": FusionNet(ModelConfig(strategies=True)).eval()}
    with torch.no_grad():  # the two models differ, so their scores can
        nets["old"].encoder.task_emb.weight += 0.5
    for label, val_min in (("new", 10), ("old", 0)):
        n = nets[label]
        torch.save({"model": n.state_dict(), "ema": n.state_dict(), "config": n.cfg.to_dict(), "args": {"val_min": val_min}},
                   tmp_path / f"{label}.pt")
    defaults = {"new": {"strength": 0.0, "strategy": "mean", "network_flow": False}, "old": {"strength": 0.1, "strategy": "max"}}
    for label, row in defaults.items():
        (tmp_path / f"{label}.json").write_text(json.dumps({"tasks": {"VI-IR": row, "MED-SPECT": row}}))
    try:
        res = compare.compare(str(tmp_path / "new.pt"), tmp_path / "new.json", str(tmp_path / "old.pt"), tmp_path / "old.json",
                              root, steps=1, tasks=["VI-IR", "MED-SPECT"], log=lambda _: None)
        # the candidate's split (--val-min 10: 6 of 30 pairs, where the 10% rule alone holds fewer)
        assert res["val_min"] == 10 and split.validation_names("VI-IR", [f"p{i}" for i in range(30)]) == {
            p.name for p in gate.validation_pairs(root, "VI-IR")}
        assert len(gate.validation_pairs(root, "VI-IR")) == 6
        for label in ("new", "old"):
            row = res["candidate" if label == "new" else "current"]["tasks"]["VI-IR"]
            pairs, refs = gate.validation_refs(root, "VI-IR")
            net = gate.load_model(tmp_path / f"{label}.pt")
            net.set_network_flow(["VI-IR"] if label == "new" else [])
            d = defaults[label]
            got = gate.evaluate_model(net, pairs, d["strength"], 1, strategy=d["strategy"])
            assert row["metrics"] == got and row["pairs"] == 6
            assert (row["vs_mean"], row["vs_max"]) == (len(gate.wins(got, refs["mean"])), len(gate.wins(got, refs["max"])))
        new, old = res["candidate"], res["current"]
        assert res["ship_candidate"] == ((new["passed"], new["wins"]) >= (old["passed"], old["wins"]))
        assert new["wins"] != old["wins"]  # the rule decided something
        # a model compared with itself ties, and a tie ships the candidate
        same = compare.compare(str(tmp_path / "new.pt"), tmp_path / "new.json", str(tmp_path / "new.pt"), tmp_path / "new.json",
                               root, steps=1, tasks=["VI-IR"], log=lambda _: None)
        assert same["ship_candidate"] and same["candidate"]["tasks"] == same["current"]["tasks"]
        md = compare.compare_markdown(res).splitlines()
        assert md[2].startswith("| current (") and md[3].startswith("| candidate (") and md[-1].startswith("Validation split: --val-min 10")
    finally:
        split.set_min_pairs(0)


def test_max_strength_and_denoise_rules_for_the_card(tmp_path: Path) -> None:
    import json

    from fccf_train.gate import max_strength_of
    from fccf_train.ship import denoise_rules

    assert max_strength_of({"low_t_share": 1.0}) == 0.02
    assert max_strength_of({"low_t_share": 0.5}) == 1.0 and max_strength_of({}) == 1.0
    ck = tmp_path / "ck.pt"
    ck.write_bytes(b"")
    assert denoise_rules(tmp_path, ck, 0.02) is None  # no validation report: no denoise rule
    lv = {"0": {}, "5": {"best": 0.0}, "25": {"best": 0.01}, "15": {"best": 0.003}}
    rep = {"checkpoint": str(ck), "tasks": {"VI-IR": {"levels": lv}, "MEF": {"levels": {"0": {}, "15": {"best": 0.002}}}}}
    (tmp_path / "diffusion-val.json").write_text(json.dumps(rep))
    assert denoise_rules(tmp_path, ck, 0.02) == {
        "VI-IR": [{"sigma": 5.0, "strength": 0.0}, {"sigma": 15.0, "strength": 0.003}, {"sigma": 25.0, "strength": 0.01}],
        "MEF": [{"sigma": 15.0, "strength": 0.002}]}
    with pytest.raises(ValueError, match="exceed the model's max_strength 0.005"):
        denoise_rules(tmp_path, ck, 0.005)
    with pytest.raises(ValueError, match="not .*other.pt: rerun `robustness diffusion --split val`"):
        denoise_rules(tmp_path, tmp_path / "other.pt", 0.02)
    rep["tasks"]["MEF"]["levels"]["15"] = {"best_strength": 0.002}  # a report from before the per-level rule
    (tmp_path / "diffusion-val.json").write_text(json.dumps(rep))
    with pytest.raises(ValueError, match="MEF levels carry no 'best' strength"):
        denoise_rules(tmp_path, ck, 0.02)


def test_diffusion_table_levels_best_strength_per_level_and_the_denoise_column(tmp_path: Path) -> None:
    from fccf_train.model import FusionNet
    from fccf_train.robustness import diffusion_markdown, diffusion_table

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(48, 40), pairs=6)
    torch.manual_seed(0)
    net = FusionNet().eval()
    # the tiny pairs carry noise of std 5 of their own: level 0 reads near 5, level 30 near 30
    rule = [{"sigma": 5.0, "strength": 0.0}, {"sigma": 30.0, "strength": 0.02}]
    res = diffusion_table(net, root, 2, 2, log=lambda _: None, tasks=["VI-IR"], strengths=(0.003, 0.02), split="val",
                          levels=(0, 15, 30), denoise_rows={"VI-IR": rule})["VI-IR"]
    assert res["pairs"] and set(res["pairs"]) <= {p.name for p in gate.validation_pairs(root, "VI-IR")}
    assert res["strengths"] == [0.003, 0.02]
    clean, gated, noisy = res["levels"]["0"], res["levels"]["15"], res["levels"]["30"]
    # only the gate's levels (15, 25) carry the blur baseline and the gate clauses
    assert "blur_composite" in gated and "pass" in gated["refine 0.02"]
    assert "blur_composite" not in noisy and "pass" not in noisy["refine 0.02"]
    assert clean["auto"]["strength"] == 0.0 and clean["auto"]["psnr"] == clean["composite"]["psnr"] == float("inf")
    assert noisy["auto"]["strength"] == 0.02 and 25 < noisy["auto"]["sigma_est"] < 35
    assert noisy["auto"]["psnr"] == noisy["refine 0.02"]["psnr"] and noisy["auto"]["qabf"] == noisy["refine 0.02"]["qabf"]
    cand = {0.0: noisy["composite"]["psnr"], 0.003: noisy["refine 0.003"]["psnr"], 0.02: noisy["refine 0.02"]["psnr"]}
    assert noisy["best"] == max(cand, key=cand.get) and "best" not in clean
    md = diffusion_markdown({"VI-IR": res})
    assert "| sigma | composite | blur+composite | refine 0.003 | refine 0.02 | --denoise (noise estimate, strength) | best | gate |" in md
    assert "| 30/255 |" in md and md.count("| - |") >= 2  # level 30: no blur baseline, no gate
    with pytest.raises(ValueError, match="must include 0"):
        diffusion_table(net, root, 2, 2, tasks=["VI-IR"], levels=(15, 25))


def test_restrength_keeps_to_the_low_t_candidates_and_the_chosen_strategy(tmp_path: Path) -> None:
    from fccf_train.model import FusionNet, ModelConfig

    from .helpers import write_tiny_dataset

    root = write_tiny_dataset(str(tmp_path / "data"), size=(72, 64), pairs=30)
    torch.manual_seed(0)
    net = FusionNet(ModelConfig(strategies=True)).eval()
    res = gate.rechoose_strengths(net, root, 1, {"VI-IR": "mean"}, {"VI-IR": None}, 0.02, log=lambda _: None,
                                  tasks=["VI-IR"])["VI-IR"]
    rows = res["strength_candidates"]
    assert list(rows) == ["0.0", "0.001", "0.003", "0.01", "0.02"]
    best = max(rows, key=lambda s: (rows[s]["wins"], rows[s]["relative"], -float(s)))
    assert res["strength"] == float(best)
    pairs, _ = gate.validation_refs(root, "VI-IR")
    assert gate.evaluate_model(net, pairs, 0.01, 1, strategy="mean") == rows["0.01"]["metrics"]
    full = gate.rechoose_strengths(net, root, 1, {"VI-IR": "max"}, {"VI-IR": None}, 1.0, log=lambda _: None, tasks=["VI-IR"])
    assert list(full["VI-IR"]["strength_candidates"]) == [str(s) for s in gate.STRENGTH_CANDIDATES]


def test_write_report_merges_a_rerun_of_some_tasks(tmp_path: Path) -> None:
    import json

    def md(rows: dict[str, object]) -> str:
        return "\n".join(f"{k}={v}" for k, v in rows.items())

    full = {"checkpoint": "a.pt", "steps": 4, "tasks": {"VI-IR": 1, "PIF": 2, "MFF": 3}}
    assert gate.write_report(tmp_path, "fusion", full, md) == "VI-IR=1\nPIF=2\nMFF=3"
    # a rerun of PIF and MEF: their rows replace or join the others, in the tasks' order
    got = gate.write_report(tmp_path, "fusion", {"checkpoint": "b.pt", "steps": 4, "tasks": {"MEF": 9, "PIF": 5}}, md, merge=True)
    assert got == "VI-IR=1\nPIF=5\nMEF=9\nMFF=3" and (tmp_path / "fusion.md").read_text() == got + "\n"
    doc = json.loads((tmp_path / "fusion.json").read_text())
    assert doc["checkpoint"] == "a.pt" and doc["merged"] == [{"tasks": ["MEF", "PIF"], "checkpoint": "b.pt"}]
    # without --merge the report is rewritten; with it and no report yet, it is written as given
    gate.write_report(tmp_path, "fusion", {"checkpoint": "c.pt", "tasks": {"MFF": 7}}, md)
    assert json.loads((tmp_path / "fusion.json").read_text()) == {"checkpoint": "c.pt", "tasks": {"MFF": 7}}
    gate.write_report(tmp_path, "other", {"tasks": {"PIF": 1}}, md, merge=True)
    assert json.loads((tmp_path / "other.json").read_text()) == {"tasks": {"PIF": 1}}
