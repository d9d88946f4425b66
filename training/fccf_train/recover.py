"""Recover a training checkpoint from a shipped model (card + ONNX graphs).

Training checkpoints live under training/runs/ and are not in git, so a fresh clone only has the
shipped graphs. Their initializers are the EMA weights under the module names (`enc.` / `den.`
prefixes); the two one-channel mask convolutions were folded by the exporter into a reshaped weight
for a Mul and a bias for the Add after the channel sum (`model.one_channel_1x1`), and are found by
that structure. Tensors that no inference output depends on (the training-only correlation scale)
are not in the graphs; they keep their initial values and are listed in the checkpoint's
``recovered.missing``. The per-task network-flow switch is not a weight either: `recover` sets it
from the card (the gate commands set it from training/reports/strengths.json). Fine-tuning from the result (`train.py --init`) starts from the shipped
function exactly.

Example::

    /usr/bin/python3 -m fccf_train.recover --card models/fccf-small.json --out training/runs/shipped/checkpoint.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .model import FusionNet, ModelConfig

PREFIXES = (("enc.", "encoder."), ("den.", "denoiser."))


def _module_name(name: str) -> str:
    for short, full in PREFIXES:
        if name.startswith(short):
            return full + name[len(short):]
    return name


def _folded_one_channel(graph: onnx.GraphProto, inits: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) of each Mul(x, W) -> ReduceSum -> Add(., b) chain with W and b initializers."""
    by_input: dict[str, list[onnx.NodeProto]] = {}
    for n in graph.node:
        for i in n.input:
            by_input.setdefault(i, []).append(n)
    found = []
    for n in graph.node:
        if n.op_type != "Mul":
            continue
        w = next((i for i in n.input if i in inits and not i.startswith(("enc.", "den."))), None)
        if w is None:
            continue
        sums = [m for m in by_input.get(n.output[0], []) if m.op_type == "ReduceSum"]
        adds = [a for s in sums for a in by_input.get(s.output[0], []) if a.op_type == "Add"]
        bias = [i for a in adds for i in a.input if i in inits]
        if len(bias) == 1:
            found.append((inits[w], inits[bias[0]]))
    return found


def recover(card_path: Path) -> tuple[FusionNet, list[str]]:
    """The FusionNet whose graphs the card names, and the state-dict keys the graphs do not hold."""
    card = json.loads(card_path.read_text())
    model = FusionNet(ModelConfig.from_dict(card["config"])).eval()
    state = model.state_dict()
    got: dict[str, torch.Tensor] = {}
    folded: list[tuple[np.ndarray, np.ndarray]] = []
    for graph in card["graphs"].values():
        path = card_path.parent / graph["file"]
        if not path.is_file():
            raise FileNotFoundError(f"{path}: graph named by {card_path} is missing")
        g = onnx.load(str(path)).graph
        inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        for name, arr in inits.items():
            key = _module_name(name)
            if key in state:
                if tuple(state[key].shape) != arr.shape:
                    raise ValueError(f"{path}: {name} has shape {arr.shape}, the card's config gives {tuple(state[key].shape)}")
                got[key] = torch.from_numpy(arr.copy())
        folded += _folded_one_channel(g, inits)
    # the folded pairs belong to the one-channel 1x1 convolutions the graphs do not name
    for key in [k for k in state if k.endswith(".weight") and k not in got]:
        conv = key[: -len(".weight")]
        if conv + ".bias" in got or conv + ".bias" not in state:
            continue
        shape = tuple(state[key].shape)
        if len(shape) != 4 or shape[0] != 1 or shape[2:] != (1, 1):
            continue
        match = [(w, b) for w, b in folded if w.size == state[key].numel()]
        if len(match) != 1:
            raise ValueError(f"{card_path}: cannot tell which folded weight is {key} ({len(match)} candidates)")
        w, b = match[0]
        got[key] = torch.from_numpy(w.reshape(shape).copy())
        got[conv + ".bias"] = torch.from_numpy(b.reshape(state[conv + ".bias"].shape).copy())
    missing = [k for k in state if k not in got]
    model.load_state_dict({**state, **got})
    # baked into the encoder graph, not a weight: the card states it per task
    model.set_network_flow([t["name"] for t in card["tasks"] if t.get("network_flow") is False])
    return model, missing


def write_checkpoint(card_path: Path, out: Path) -> list[str]:
    """Write a checkpoint `train.py --init` and `gate.load_model` accept; returns the missing keys."""
    model, missing = recover(card_path)
    card = json.loads(card_path.read_text())
    training = card.get("training", {})
    sd = model.state_dict()
    ck = {
        "model": sd, "ema": sd, "config": model.cfg.to_dict(), "step": int(training.get("step", 0)),
        "elapsed": 60.0 * float(training.get("wall_minutes", 0.0)), "args": training.get("args", {}),
        # the card's own lineage, so a fine-tune from this checkpoint can still state its total training
        "recovered": {"card": str(card_path), "missing": missing, "initialised_from": training.get("initialised_from", [])},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    torch.save(ck, tmp)
    tmp.replace(out)
    return missing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--card", type=Path, default=Path("models/fccf-small.json"))
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    try:
        missing = write_checkpoint(a.card, a.out)
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"recover: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}" + (f"; not in the graphs (initial values kept): {', '.join(missing)}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
