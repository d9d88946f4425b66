"""ONNX export of the fusion network as two graphs, with parity and speed checks in onnxruntime-node.

- ``<name>.encoder.onnx``: inputs ``cond`` float32 [N,2,H,W], ``task`` int64 [N];
  outputs ``feat0``.. (denoiser features), ``comp``, ``mask``, ``flow``.
- ``<name>.denoiser.onnx``: inputs ``x_t`` float32 [N,1,H,W], ``t`` float32 [N] (training units),
  then the encoder's feature outputs and ``comp`` by the same names; output ``x0`` [N,1,H,W].
Opset 17, dynamic N, H, W. onnxruntime-node is run through ort_run.mjs (python onnxruntime is
not installed here), from the workspace's packages/cli.

Example::

    graphs = export_graphs(model, Path("models"), "fccf-small")
    diffs = check_parity(model, graphs, h=48, w=64)     # {"encoder": 2e-6, "denoiser": 1e-6}
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .model import INPUT_MULTIPLE, FusionNet, ModelConfig

OPSET = 17
ORT_RUNNER = Path(__file__).with_name("ort_run.mjs")


@dataclass(frozen=True)
class GraphSpec:
    path: Path
    inputs: list[tuple[str, str, list[str | int]]]  # name, dtype, shape
    outputs: list[tuple[str, str, list[str | int]]]

    def card(self) -> dict[str, object]:
        def io(rows: list[tuple[str, str, list[str | int]]]) -> list[dict[str, object]]:
            return [{"name": n, "type": t, "shape": s} for n, t, s in rows]

        return {"file": self.path.name, "inputs": io(self.inputs), "outputs": io(self.outputs)}


@dataclass(frozen=True)
class Graphs:
    encoder: GraphSpec
    denoiser: GraphSpec
    feature_names: list[str]


class _EncoderGraph(nn.Module):
    def __init__(self, model: FusionNet) -> None:
        super().__init__()
        self.enc = model.encoder

    def forward(self, cond: torch.Tensor, task: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.enc(cond, task))


class _DenoiserGraph(nn.Module):
    def __init__(self, model: FusionNet) -> None:
        super().__init__()
        self.den = model.denoiser

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, *feats: torch.Tensor) -> torch.Tensor:
        return self.den(x_t, t, *feats)


def _feature_channels(model: FusionNet) -> list[tuple[int, int]]:
    """(channels, downscale) of each denoiser feature output, from a probe forward."""
    m = INPUT_MULTIPLE * 2
    with torch.no_grad():
        out = model.encoder(torch.zeros(1, 2, m, m), torch.zeros(1, dtype=torch.long))
    return [(int(o.shape[1]), m // int(o.shape[2])) for o in out[:-3]]


def _dims(c: int, down: int) -> list[str | int]:
    return ["N", c, "H" if down == 1 else f"H/{down}", "W" if down == 1 else f"W/{down}"]


def export_graphs(model: FusionNet, out_dir: Path, name: str) -> Graphs:
    """Write both graphs for `model` (eval mode) and return their specs."""
    model = model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    feats = _feature_channels(model)
    fnames = [f"feat{i}" for i in range(len(feats))]
    h, w = 4 * INPUT_MULTIPLE, 5 * INPUT_MULTIPLE
    cond = torch.rand(1, 2, h, w) * 2 - 1
    task = torch.zeros(1, dtype=torch.long)
    enc_path = out_dir / f"{name}.encoder.onnx"
    enc_out = fnames + ["comp", "mask", "flow"]
    dyn = {"cond": {0: "N", 2: "H", 3: "W"}, "task": {0: "N"}}
    for n, (_, down) in zip(fnames, feats):
        dyn[n] = {0: "N", 2: "H" if down == 1 else f"H_{down}", 3: "W" if down == 1 else f"W_{down}"}
    for n in ("comp", "mask", "flow"):
        dyn[n] = {0: "N", 2: "H", 3: "W"}
    with torch.no_grad():
        torch.onnx.export(
            _EncoderGraph(model), (cond, task), str(enc_path), opset_version=OPSET,
            input_names=["cond", "task"], output_names=enc_out, dynamic_axes=dyn, do_constant_folding=True,
        )
        enc = model.encoder(cond, task)
    den_path = out_dir / f"{name}.denoiser.onnx"
    den_in = ["x_t", "t"] + fnames + ["comp"]
    ddyn: dict[str, dict[int, str]] = {"x_t": {0: "N", 2: "H", 3: "W"}, "t": {0: "N"}, "x0": {0: "N", 2: "H", 3: "W"}}
    for n in fnames + ["comp"]:
        ddyn[n] = dyn[n]
    args = (torch.randn(1, 1, h, w), torch.tensor([500.0]), *enc[:-2])
    with torch.no_grad():
        torch.onnx.export(
            _DenoiserGraph(model), args, str(den_path), opset_version=OPSET,
            input_names=den_in, output_names=["x0"], dynamic_axes=ddyn, do_constant_folding=True,
        )
    fspecs = [(n, "float32", _dims(c, d)) for n, (c, d) in zip(fnames, feats)]
    encoder = GraphSpec(
        enc_path,
        [("cond", "float32", ["N", 2, "H", "W"]), ("task", "int64", ["N"])],
        fspecs + [("comp", "float32", _dims(1, 1)), ("mask", "float32", _dims(1, 1)), ("flow", "float32", _dims(2, 1))],
    )
    denoiser = GraphSpec(
        den_path,
        [("x_t", "float32", _dims(1, 1)), ("t", "float32", ["N"])] + fspecs + [("comp", "float32", _dims(1, 1))],
        [("x0", "float32", _dims(1, 1))],
    )
    return Graphs(encoder, denoiser, fnames)


# --- onnxruntime-node bridge ------------------------------------------------------------------


def _ort(mode: str, model_path: Path, inputs: dict[str, np.ndarray], runs: int = 10) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fccf-ort-") as tmp:
        d = Path(tmp)
        spec: dict[str, object] = {}
        for n, arr in inputs.items():
            typ = "int64" if arr.dtype == np.int64 else "float32"
            data = arr.astype(np.int64 if typ == "int64" else np.float32)
            (d / f"{n}.bin").write_bytes(np.ascontiguousarray(data).tobytes())
            spec[n] = {"dims": list(arr.shape), "type": typ, "file": f"{n}.bin"}
        (d / "job.json").write_text(json.dumps({"inputs": spec, "threads": 2, "runs": runs}))
        proc = subprocess.run(
            ["node", str(ORT_RUNNER), mode, str(model_path.resolve()), str(d / "job.json")],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"onnxruntime-node failed on {model_path}: {proc.stderr.strip()[-2000:]}")
        if mode == "bench":
            return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
        meta = json.loads((d / "outputs.json").read_text())
        out: dict[str, object] = {}
        for n, m in meta.items():
            dt = np.int64 if m["type"] == "int64" else np.float32
            out[n] = np.frombuffer((d / m["file"]).read_bytes(), dtype=dt).reshape(m["dims"])
        return out


def ort_run(model_path: Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run a graph in onnxruntime-node; returns outputs by name."""
    return {k: np.asarray(v) for k, v in _ort("run", model_path, inputs).items()}


def ort_bench(model_path: Path, inputs: dict[str, np.ndarray], runs: int = 10) -> tuple[float, float]:
    """(median, min) ms per run in onnxruntime-node (2 threads)."""
    r = _ort("bench", model_path, inputs, runs)
    return float(r["ms"]), float(r["min"])  # type: ignore[arg-type]


def _sample_inputs(model: FusionNet, graphs: Graphs, h: int, w: int, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    g = torch.Generator().manual_seed(seed)
    cond = torch.rand(2, 2, h, w, generator=g) * 2 - 1
    task = torch.tensor([0, 5], dtype=torch.long)
    with torch.no_grad():
        enc = model.encoder(cond, task)
    enc_in = {"cond": cond.numpy(), "task": task.numpy()}
    den_in = {"x_t": torch.randn(2, 1, h, w, generator=g).numpy(), "t": np.array([731.5, 12.0], dtype=np.float32)}
    for n, v in zip(graphs.feature_names + ["comp"], enc[:-2]):
        den_in[n] = v.numpy()
    return enc_in, den_in


def check_parity(model: FusionNet, graphs: Graphs, h: int = 48, w: int = 64, seed: int = 0) -> dict[str, float]:
    """Max abs difference ONNX (onnxruntime-node) vs PyTorch for both graphs on random inputs."""
    model = model.eval()
    enc_in, den_in = _sample_inputs(model, graphs, h, w, seed)
    with torch.no_grad():
        ref_enc = model.encoder(torch.from_numpy(enc_in["cond"]), torch.from_numpy(enc_in["task"]))
        feats = [torch.from_numpy(den_in[n]) for n in graphs.feature_names + ["comp"]]
        ref_den = model.denoiser(torch.from_numpy(den_in["x_t"]), torch.from_numpy(den_in["t"]), *feats)
    got_enc = ort_run(graphs.encoder.path, enc_in)
    got_den = ort_run(graphs.denoiser.path, den_in)
    names = graphs.feature_names + ["comp", "mask", "flow"]
    d_enc = max(float(np.max(np.abs(got_enc[n] - r.numpy()))) for n, r in zip(names, ref_enc))
    d_den = float(np.max(np.abs(got_den["x0"] - ref_den.numpy())))
    return {"encoder": d_enc, "denoiser": d_den}


def measure_speed(model: FusionNet, graphs: Graphs, h: int = 480, w: int = 640, runs: int = 10, rounds: int = 3) -> dict[str, object]:
    """Median and min ms per forward in onnxruntime-node at HxW, batch 1 (encoder, one denoiser step).

    Shared hosts swing by up to 2x from minute to minute, so the graphs are timed in ``rounds``
    alternating rounds of ``runs`` runs each: the figures are the median of the round medians and the
    min over all runs, and every round's medians are kept."""
    enc_in, den_in = _sample_inputs(model, graphs, h, w, 1)
    enc_in = {k: v[:1] for k, v in enc_in.items()}
    den_in = {k: v[:1] for k, v in den_in.items()}
    enc, den = [], []
    for _ in range(rounds):
        enc.append(ort_bench(graphs.encoder.path, enc_in, runs))
        den.append(ort_bench(graphs.denoiser.path, den_in, runs))
    return {
        "encoder_ms": float(np.median([m for m, _ in enc])),
        "denoiser_step_ms": float(np.median([m for m, _ in den])),
        "encoder_min_ms": min(m for _, m in enc),
        "denoiser_step_min_ms": min(m for _, m in den),
        "rounds_ms": [[round(e[0], 2), round(d[0], 2)] for e, d in zip(enc, den)],
    }


def gflops(model: FusionNet, h: int = 480, w: int = 640) -> dict[str, float]:
    """GFLOPs (2 x multiply-adds of conv / linear / matmul ops, from the PyTorch profiler) at HxW, batch 1."""
    from torch.profiler import ProfilerActivity, profile

    model = model.eval()
    cond = torch.zeros(1, 2, h, w)
    task = torch.zeros(1, dtype=torch.long)

    def count(fn) -> float:  # type: ignore[no-untyped-def]
        with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            fn()
        return sum(e.flops for e in prof.key_averages() if e.flops) / 1e9

    with torch.no_grad():
        enc = model.encoder(cond, task)
    ge = count(lambda: model.encoder(cond, task))
    gd = count(lambda: model.denoiser(torch.zeros(1, 1, h, w), torch.tensor([500.0]), *enc[:-2]))
    return {"encoder": round(ge, 3), "denoiser_step": round(gd, 3)}


class OrtModel:
    """Duck-typed stand-in for FusionNet that runs the exported graphs in onnxruntime-node, so the
    Python inference reference can be replayed on the ONNX files (one node process per call: slow,
    meant for the small parity cases)."""

    def __init__(self, graphs: Graphs, cfg: ModelConfig) -> None:
        self.graphs = graphs
        self.cfg = cfg  # the exported model's config: inference reads cfg.strategies for task ids
        self.encoder = self._encoder
        self.denoiser = self._denoiser

    def _encoder(self, cond: torch.Tensor, task: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = ort_run(self.graphs.encoder.path, {"cond": cond.numpy(), "task": task.numpy()})
        names = [n for n, _, _ in self.graphs.encoder.outputs]
        return tuple(torch.from_numpy(np.array(out[n])) for n in names)

    def _denoiser(self, x_t: torch.Tensor, t: torch.Tensor, *feats: torch.Tensor) -> torch.Tensor:
        feeds = {"x_t": x_t.numpy(), "t": t.numpy()}
        for n, v in zip(self.graphs.feature_names + ["comp"], feats):
            feeds[n] = v.numpy()
        return torch.from_numpy(np.array(ort_run(self.graphs.denoiser.path, feeds)["x0"]))
