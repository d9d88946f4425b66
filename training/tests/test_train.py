"""End-to-end: a two-step training run on tiny crops, resume, and DDP with two CPU processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from fccf_train.model import FusionNet, ModelConfig
from fccf_train.step import TERMS, TrainStep
from fccf_train.tasks import NUM_TASKS
from fccf_train.train import main

from .helpers import write_tiny_dataset

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMON = ["--crop", "32", "--batch", "2", "--threads", "1", "--subset", "all", "--val-every", "2", "--log-every", "1"]


def test_train_step_terms_finite_and_reach_every_parameter() -> None:
    torch.manual_seed(0)
    net = FusionNet()
    step = TrainStep(net)
    a, b = torch.rand(4, 1, 32, 32) * 2 - 1, torch.rand(4, 1, 32, 32) * 2 - 1
    out = step(a, b, torch.tensor([0, 3, 6, 7]), torch.tensor([0, 1, 0, 0]), torch.Generator().manual_seed(0))
    total = sum(out[k] for k in TERMS)
    assert all(torch.isfinite(out[k]) for k in TERMS)
    total.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    # task embeddings of tasks absent from the batch still get a (zero) gradient through the lookup
    assert missing == []


def test_mask_target_scores_the_mask_on_aligned_or_registered_sources() -> None:
    from fccf_train.warp import warp

    ys, xs = torch.meshgrid(torch.linspace(-3, 3, 48), torch.linspace(-3, 3, 64), indexing="ij")
    a = torch.sin(xs + ys)[None, None]
    b = torch.cos(2 * xs - ys)[None, None]
    g = torch.zeros(1, 2, 48, 64)
    g[:, 0], g[:, 1] = 3.0, -2.0  # B moved by a whole-pixel shift; its inverse is exact inside
    flow_true = -g
    b_mis = warp(b, g)
    mask = torch.full_like(a, 0.3)
    zero = torch.zeros_like(flow_true)
    aligned = TrainStep(FusionNet(), mask_target="aligned")
    registered = TrainStep(FusionNet())
    exact = 0.3 * a + 0.7 * b
    # "aligned" ignores the misalignment and the predicted flow
    assert torch.equal(aligned.fusion_composite(mask, a, b, b_mis, zero), exact)
    # "registered" sees B where the flow puts it: misaligned with no flow, (nearly) aligned with the true one
    off = (registered.fusion_composite(mask, a, b, b_mis, zero) - exact).abs()[..., 8:-8, 8:-8].mean()
    on = (registered.fusion_composite(mask, a, b, b_mis, flow_true) - exact).abs()[..., 8:-8, 8:-8].mean()
    assert float(off) > 0.05 and float(on) < 1e-6
    with pytest.raises(ValueError, match="mask_target"):
        TrainStep(FusionNet(), mask_target="warped")


def test_focus_and_guided_mask_targets_add_their_pulls_on_their_tasks_luma_only() -> None:
    torch.manual_seed(0)
    net = FusionNet()
    a, b = torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1

    def ssim(target: str, task: list[int], chan: list[int]) -> float:
        out = TrainStep(net, mask_target=target)(a, b, torch.tensor(task), torch.tensor(chan), torch.Generator().manual_seed(0))
        return float(out["ssim"])

    for task, chan in (([0, 6], [0, 0]), ([7, 7], [1, 2])):  # no MFF; MFF chroma planes
        assert ssim("focus", task, chan) == ssim("aligned", task, chan)
    assert ssim("focus", [0, 7], [0, 0]) > ssim("aligned", [0, 7], [0, 0])
    # "guided" adds the same focus pull, and an exposure pull on multi-exposure luma samples only
    assert ssim("guided", [0, 7], [0, 0]) == ssim("focus", [0, 7], [0, 0])
    assert ssim("guided", [6, 6], [1, 2]) == ssim("aligned", [6, 6], [1, 2])
    assert ssim("guided", [0, 6], [0, 0]) > ssim("focus", [0, 6], [0, 0]) == ssim("aligned", [0, 6], [0, 0])
    # the pull is linear in its weight
    base, pull = ssim("aligned", [0, 7], [0, 0]), ssim("focus", [0, 7], [0, 0]) - ssim("aligned", [0, 7], [0, 0])
    out = TrainStep(net, mask_target="focus", focus_weight=3.0)(a, b, torch.tensor([0, 7]), torch.tensor([0, 0]), torch.Generator().manual_seed(0))
    assert float(out["ssim"]) == pytest.approx(base + 3 * pull, rel=1e-5)


def test_two_steps_then_resume(tmp_path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"))
    out = str(tmp_path / "run")
    args = ["--data", root, "--out", out, "--weighting", "rl", "--rl-period", "1", "--rl-warmup", "1", *COMMON]
    assert main([*args, "--steps", "2"]) == 0
    ck = torch.load(os.path.join(out, "checkpoint.pt"))
    assert ck["step"] == 2
    net = FusionNet(ModelConfig.from_dict(ck["config"]))
    net.load_state_dict(ck["ema"])
    fresh = FusionNet()
    assert any(not torch.equal(p, q) for p, q in zip(net.parameters(), fresh.parameters()))
    rows = [json.loads(x) for x in open(os.path.join(out, "metrics.jsonl"))]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2]
    assert any(r["kind"] == "val" for r in rows)
    assert os.path.getsize(os.path.join(out, "curves.png")) > 1000
    assert main([*args, "--steps", "3", "--resume"]) == 0
    assert torch.load(os.path.join(out, "checkpoint.pt"))["step"] == 3
    log = open(os.path.join(out, "log.txt")).read()
    assert "resumed from" in log and "done at step 3" in log
    traj = json.load(open(os.path.join(out, "rl_trajectory.json")))
    assert traj["terms"] == list(TERMS) and len(traj["trajectory"]) >= 1


def test_val_min_holds_out_more_pairs_and_is_recorded(tmp_path) -> None:
    from fccf_train import split

    root = write_tiny_dataset(str(tmp_path / "data"), pairs=30)
    common = [c for c in COMMON if c not in ("--subset", "all")]
    held = {}
    try:
        for n in (0, 16):
            out = str(tmp_path / f"run{n}")
            assert main(["--data", root, "--out", out, "--weighting", "fixed", "--steps", "1", "--val-min", str(n), *common]) == 0
            assert torch.load(os.path.join(out, "checkpoint.pt"))["args"]["val_min"] == n
            line = next(x for x in open(os.path.join(out, "log.txt")) if "start:" in x)
            train, val = (int(line.split(f" {k}")[0].rsplit(" ", 1)[1]) for k in ("training pairs", "held out"))
            assert train + val == 60  # two tasks of 30 pairs
            held[n] = val
    finally:
        split.set_min_pairs(0)
    # 30 pairs per task: the 10% rule holds out 1-5, --val-min 16 tops each task up to a fifth (6)
    assert held[0] < held[16] == 12


def test_fixed_weighting_is_reproducible(tmp_path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"))
    outs = []
    for i in range(2):
        out = str(tmp_path / f"run{i}")
        assert main(["--data", root, "--out", out, "--weighting", "fixed", "--steps", "2", *COMMON]) == 0
        outs.append(torch.load(os.path.join(out, "checkpoint.pt"))["model"])
    assert all(torch.equal(outs[0][k], outs[1][k]) for k in outs[0])


def test_bad_data_root_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r"), "--steps", "1"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_ddp_two_cpu_processes(tmp_path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"))
    out = str(tmp_path / "ddp")
    env = {**os.environ, "PYTHONPATH": TRAINING, "OMP_NUM_THREADS": "1"}
    # --redirects/--tee: Debian's torch 1.13 on Python 3.11 cannot parse the default "0" (IntFlag change)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--redirects", "1", "--tee", "1", "--log_dir", str(tmp_path / "logs"),
           "-m", "fccf_train.train", "--data", root, "--out", out, "--steps", "2", "--weighting", "rl",
           "--rl-period", "1", "--rl-warmup", "1", *COMMON]
    res = subprocess.run(cmd, cwd=TRAINING, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    log = open(os.path.join(out, "log.txt")).read()
    assert "world 2" in log
    spread = float(log.split("max parameter spread ")[1].split()[0])
    assert spread == 0.0
    assert torch.load(os.path.join(out, "checkpoint.pt"))["step"] == 2


def test_report_copies_plots_and_summarises(tmp_path, monkeypatch) -> None:
    from fccf_train import report

    root = write_tiny_dataset(str(tmp_path / "data"))
    out = str(tmp_path / "run")
    assert main(["--data", root, "--out", out, "--weighting", "rl", "--rl-period", "1", "--rl-warmup", "1",
                 "--steps", "3", *COMMON]) == 0
    monkeypatch.setattr(report, "REPORTS", str(tmp_path / "reports"))
    assert report.main([out]) == 0
    files = sorted(os.listdir(tmp_path / "reports"))
    assert files == ["run-curves.png", "run-rl_trajectory.json", "run-rl_trajectory.png", "run-summary.json"]
    summary = json.load(open(tmp_path / "reports" / "run-summary.json"))
    assert summary["steps"] == 3 and len(summary["final_weights"]) == len(TERMS)
    assert report.main([str(tmp_path / "data")]) == 2


def test_init_fills_every_strategy_row_then_fine_tunes_both_strategies(tmp_path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"))
    base = str(tmp_path / "base")
    assert main(["--data", root, "--out", base, "--weighting", "fixed", "--steps", "2", *COMMON]) == 0
    ck = torch.load(os.path.join(base, "checkpoint.pt"))
    old = FusionNet(ModelConfig.from_dict(ck["config"]))
    old.load_state_dict(ck["ema"])
    new = FusionNet(ModelConfig.from_dict({**ck["config"], "strategies": True}))
    new.load_for_finetune(ck["ema"])
    cond = torch.rand(1, 2, 32, 32) * 2 - 1
    with torch.no_grad():
        want = old.encoder(cond, torch.tensor([3]))
        for gid in (3, 3 + NUM_TASKS):  # MED-SPECT with max and with mean: the same function at the start
            got = new.encoder(cond, torch.tensor([gid]))
            assert all(torch.equal(x, y) for x, y in zip(want, got))
    out = str(tmp_path / "ft")
    args = ["--data", root, "--out", out, "--weighting", "fixed", "--steps", "2", "--init", os.path.join(base, "checkpoint.pt"),
            "--model-config", '{"strategies": true}', *COMMON]
    assert main(args) == 0
    ft = torch.load(os.path.join(out, "checkpoint.pt"))
    assert ft["config"]["strategies"] is True and ft["step"] == 2
    emb = ft["model"]["encoder.task_emb.weight"]
    assert emb.shape[0] == 2 * NUM_TASKS
    # both strategies of the batch's tasks were trained, so their rows moved apart from the copies
    assert not torch.equal(emb[0], emb[NUM_TASKS]) and not torch.equal(emb[3], emb[3 + NUM_TASKS])


def test_aligned_diffusion_input_keeps_the_random_draws_and_only_moves_the_denoiser_terms() -> None:
    torch.manual_seed(0)
    net = FusionNet()
    a, b = torch.rand(4, 1, 32, 32) * 2 - 1, torch.rand(4, 1, 32, 32) * 2 - 1
    task, chan = torch.tensor([0, 3, 6, 7]), torch.tensor([0, 1, 0, 0])
    outs, after = {}, {}
    for mode in ("registered", "aligned"):
        g = torch.Generator().manual_seed(0)
        outs[mode] = TrainStep(net, diffusion_input=mode)(a, b, task, chan, g)
        after[mode] = float(torch.rand(1, generator=g))
    assert after["registered"] == after["aligned"]  # same generator consumption: same deformation, noise, t
    assert torch.equal(outs["registered"]["epe"], outs["aligned"]["epe"])
    assert not torch.equal(outs["registered"]["diff"], outs["aligned"]["diff"])
    with pytest.raises(ValueError, match="diffusion_input"):
        TrainStep(net, diffusion_input="warped")


def test_x0_fusion_zero_leaves_the_denoiser_to_the_diffusion_loss() -> None:
    torch.manual_seed(0)
    net = FusionNet()
    with torch.no_grad():  # a zero-initialised head would give the fusion terms no gradient anyway
        net.denoiser.head.weight.normal_(0, 0.1)
    a, b = torch.rand(4, 1, 32, 32) * 2 - 1, torch.rand(4, 1, 32, 32) * 2 - 1
    task, chan = torch.tensor([0, 3, 6, 7]), torch.tensor([0, 0, 0, 0])
    for weight, moves in ((1.0, True), (0.0, False)):
        out = TrainStep(net, x0_fusion=weight)(a, b, task, chan, torch.Generator().manual_seed(0))
        net.zero_grad()
        (out["ssim"] + out["grad"] + out["int"]).backward()
        g = net.denoiser.head.weight.grad
        assert (g is not None and float(g.abs().sum()) > 0) == moves


def test_low_t_share_draws_that_share_at_strength_0_02() -> None:
    torch.manual_seed(0)
    net = FusionNet()
    seen: list[torch.Tensor] = []
    forward = net.denoiser.forward
    net.denoiser.forward = lambda x_t, t, feat, comp: (seen.append(t), forward(x_t, t, feat, comp))[1]  # type: ignore[method-assign]
    a, b = torch.rand(64, 1, 16, 16) * 2 - 1, torch.rand(64, 1, 16, 16) * 2 - 1
    task, chan = torch.arange(64) % NUM_TASKS, torch.zeros(64, dtype=torch.long)
    low = {}
    for share in (0.0, 0.5, 1.0):
        seen.clear()
        TrainStep(net, low_t_share=share)(a, b, task, chan, torch.Generator().manual_seed(1))
        low[share] = float((seen[0] <= 0.02 * 999).float().mean())
    # without the share, t <= 20 only where the drawn fraction of a larger strength is small
    assert low[1.0] == 1.0 and low[0.0] < 0.35 and low[0.5] > low[0.0] + 0.25, low
    with pytest.raises(ValueError, match="low_t_share"):
        TrainStep(net, low_t_share=1.5)


def test_x0_edge_adds_the_edge_term_to_the_diffusion_loss() -> None:
    torch.manual_seed(0)
    net = FusionNet()
    got: list[tuple[torch.Tensor, torch.Tensor]] = []
    forward = net.denoiser.forward
    net.denoiser.forward = lambda x_t, t, feat, comp: (lambda x0: (got.append(x0), x0)[1])(forward(x_t, t, feat, comp))  # type: ignore[method-assign]
    a, b = torch.rand(4, 1, 16, 16) * 2 - 1, torch.rand(4, 1, 16, 16) * 2 - 1
    task, chan = torch.arange(4) % NUM_TASKS, torch.zeros(4, dtype=torch.long)
    plain = TrainStep(net)(a, b, task, chan, torch.Generator().manual_seed(1))["diff"]
    with_edge = TrainStep(net, x0_edge=0.5)(a, b, task, chan, torch.Generator().manual_seed(1))["diff"]
    # same draws, so the same x0 estimate: only the added edge term differs
    assert torch.equal(got[0], got[1])
    assert float(with_edge - plain) > 0
    with pytest.raises(ValueError, match="x0_edge"):
        TrainStep(net, x0_edge=-1.0)


def test_freeze_encoder_trains_only_the_denoiser(tmp_path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"))
    init = str(tmp_path / "init")
    assert main(["--data", root, "--out", init, "--weighting", "fixed", "--steps", "1", *COMMON]) == 0
    out = str(tmp_path / "run")
    assert main(["--data", root, "--out", out, "--weighting", "fixed", "--steps", "2", "--freeze-encoder",
                 "--diffusion-input", "aligned", "--x0-fusion", "0", "--low-t-share", "0.5",
                 "--init", os.path.join(init, "checkpoint.pt"), *COMMON]) == 0
    src, ck = torch.load(os.path.join(init, "checkpoint.pt"))["ema"], torch.load(os.path.join(out, "checkpoint.pt"))
    for which in ("ema", "model"):
        assert all(torch.equal(v, src[k]) for k, v in ck[which].items() if k.startswith("encoder."))
        assert any(not torch.equal(v, src[k]) for k, v in ck[which].items() if k.startswith("denoiser."))


def test_fresh_denoiser_keeps_the_encoder_and_reinitialises_the_denoiser(tmp_path) -> None:
    from fccf_train.train import Run, parse_args

    root = write_tiny_dataset(str(tmp_path / "data"))
    init = str(tmp_path / "init")
    assert main(["--data", root, "--out", init, "--weighting", "fixed", "--steps", "1", *COMMON]) == 0
    src = torch.load(os.path.join(init, "checkpoint.pt"))["ema"]
    nets = []
    for name in ("a", "b"):
        run = Run(parse_args(["--data", root, "--out", str(tmp_path / name), "--weighting", "fixed", "--fresh-denoiser",
                              "--seed", "3", "--init", os.path.join(init, "checkpoint.pt"), *COMMON]))
        nets.append(run.net.state_dict())
    torch.manual_seed(3)
    fresh = FusionNet(ModelConfig.from_dict(torch.load(os.path.join(init, "checkpoint.pt"))["config"])).denoiser.state_dict()
    for k, v in nets[0].items():
        if k.startswith("encoder."):
            assert torch.equal(v, src[k]), k
        elif k.startswith("denoiser."):
            assert torch.equal(v, fresh[k[len("denoiser."):]]) and torch.equal(v, nets[1][k]), k
    # the trained denoiser differs from a fresh one, so the test can tell them apart
    assert any(not torch.equal(src[k], nets[0][k]) for k in src if k.startswith("denoiser."))


def test_a_fine_tune_resumes_with_its_own_architecture(tmp_path) -> None:
    root = write_tiny_dataset(str(tmp_path / "data"))
    init = str(tmp_path / "init")
    # an architecture other than the defaults, which the fine-tune takes from its --init
    assert main(["--data", root, "--out", init, "--weighting", "fixed", "--steps", "1",
                 "--model-config", '{"mask_head": "bilinear"}', *COMMON]) == 0
    out = str(tmp_path / "run")
    args = ["--data", root, "--out", out, "--weighting", "fixed", "--init", os.path.join(init, "checkpoint.pt"), *COMMON]
    assert main([*args, "--steps", "1"]) == 0
    assert main([*args, "--steps", "2", "--resume"]) == 0
    ck = torch.load(os.path.join(out, "checkpoint.pt"))
    assert ck["step"] == 2 and ck["config"]["mask_head"] == "bilinear"


def test_tune_embedding_trains_only_the_named_tasks_rows(tmp_path, capsys) -> None:
    from fccf_train.tasks import STRATEGIES, graph_task_id, task_by_name

    root = write_tiny_dataset(str(tmp_path / "data"))
    init = str(tmp_path / "init")
    assert main(["--data", root, "--out", init, "--weighting", "fixed", "--steps", "1",
                 "--model-config", '{"strategies": true}', *COMMON]) == 0
    out = str(tmp_path / "run")
    assert main(["--data", root, "--out", out, "--weighting", "fixed", "--steps", "3", "--tune-embedding", "--tasks", "MED-SPECT",
                 "--init", os.path.join(init, "checkpoint.pt"), *COMMON]) == 0
    src, ck = torch.load(os.path.join(init, "checkpoint.pt"))["ema"], torch.load(os.path.join(out, "checkpoint.pt"))
    t = task_by_name("MED-SPECT")
    tuned = [graph_task_id(t, st, True) for st in STRATEGIES]
    for which in ("ema", "model"):
        state = ck[which]
        assert all(torch.equal(v, src[k]) for k, v in state.items() if k != "encoder.task_emb.weight")
        emb, emb0 = state["encoder.task_emb.weight"], src["encoder.task_emb.weight"]
        for row in range(emb.shape[0]):
            # bit-identical rows: every other task's (and strategy's) output is unchanged
            assert torch.equal(emb[row], emb0[row]) != (row in tuned)
    assert main(["--data", root, "--out", str(tmp_path / "bad"), "--tune-embedding", "--init", os.path.join(init, "checkpoint.pt"), *COMMON]) != 0
    assert "--tune-embedding needs --tasks" in capsys.readouterr().err


def test_weight_overrides_the_base_loss_weights() -> None:
    from fccf_train.data import DataError
    from fccf_train.train import FIXED_WEIGHTS, base_weights

    assert base_weights([]) == FIXED_WEIGHTS
    got = base_weights(["flow=0", "grad=2.5"])
    assert got == {**FIXED_WEIGHTS, "flow": 0.0, "grad": 2.5}
    for bad, msg in (("edge=1", "unknown term"), ("flow=x", "must be a number"), ("flow=-1", "must be a number")):
        with pytest.raises(DataError, match=msg):
            base_weights([bad])
