"""The model card (models/<name>.json): everything the TypeScript engine needs, plus provenance.

Field reference: models/README.md. The engine reads only the card; nothing task-specific is
hard-coded there, so every convention the Python reference (fccf_train.infer) uses is stated here.

Example::

    card = build_card(name, graphs, model, default_strengths, steps=4, measured={...}, training={...})
    write_card(Path("models") / f"{name}.json", card)
"""

from __future__ import annotations

import json
from pathlib import Path

from .export import OPSET, Graphs
from .infer import CHROMA_EPS
from .model import INPUT_MULTIPLE, FusionNet, count_params
from .parity import SAMPLER_DETAIL
from .schedule import SCHEDULE
from .tasks import STRATEGIES, TASKS, graph_task_id

CONTRACT_VERSION = "fccf-model/1"


def build_card(
    name: str,
    graphs: Graphs,
    model: FusionNet,
    default_strengths: dict[str, float],
    steps: int,
    measured: dict[str, object],
    training: dict[str, object],
    quality: dict[str, object] | None = None,
    default_strategies: dict[str, str] | None = None,
    default_registers: dict[str, str | None] | None = None,
    max_strength: float = 1.0,
    denoise: dict[str, list[dict[str, float]]] | None = None,
) -> dict[str, object]:
    """The card (see DESIGN.md). ``tasks[].id`` is the graphs' task input for the task's default
    strategy; a strategy-conditioned model also lists ``tasks[].strategies`` (strategy -> id)."""
    strategy = {t.name: (default_strategies or {}).get(t.name) or t.strategy for t in TASKS}
    conditioned = model.cfg.strategies
    missing = [t.name for t in TASKS if t.name not in default_strengths]
    if missing:
        raise ValueError(f"no default strength for tasks {', '.join(missing)}")
    enc_p, den_p = count_params(model.encoder), count_params(model.denoiser)
    return {
        "contract": CONTRACT_VERSION,
        "name": name,
        "onnx_opset": OPSET,
        "graphs": {"encoder": graphs.encoder.card(), "denoiser": graphs.denoiser.card()},
        "denoiser_features": graphs.feature_names + ["comp"],
        "input_multiple": INPUT_MULTIPLE,
        "padding": "reflect on the bottom and right edges to the input multiple; outputs cropped back",
        "value_range": [-1.0, 1.0],
        "value_mapping": "v = x / 127.5 - 1 for 0..255 planes (Y, Cb, Cr or grey); back: x = (clamp(v, -1, 1) + 1) * 127.5",
        "colour_space": "YCbCr BT.601 full range (JPEG): Y = .299R + .587G + .114B, Cb/Cr centred on 128",
        "schedule": SCHEDULE.card(),
        # the denoiser was trained only at strengths up to this (t <= max_strength (T - 1)); engines refuse larger ones
        "max_strength": max_strength,
        "prediction_type": SCHEDULE.prediction_type,
        "sampler": {
            **SAMPLER_DETAIL,
            "default_steps": steps,
            "t_start": "round(strength * (num_train_timesteps - 1))",
            "timesteps": "round(linspace(0, t_start, steps + 1)) reversed, last (0) dropped, duplicates removed",
            "init": "x = sqrt(abar[t_start]) * composite + sqrt(1 - abar[t_start]) * noise",
            "strength_zero": "the registered composite is the output (no denoiser call)",
        },
        "hierarchical_conditioning": {
            "stages": ["(b_aligned, b_aligned)", "(a, b)", "(a, a)"],
            "rule": "f = t / t_start; stage 0 if f > hi, stage 1 if lo < f <= hi, stage 2 if f <= lo",
            "b_aligned": "warp(b, flow of the (a, b) encoder pass): b(p + flow(p)), bilinear, border, align_corners",
            "encoder_runs": "once per stage used; the (a, b) pass also gives the composite, mask and flow",
        },
        "channel_plans": {
            "y": "network on (Y_a, Y_b) (grey sources as Y); chroma of the colour source (warped by the flow if it is b); grey output if neither is colour",
            "full-colour": "network on (Y_a, Y_b), (Y_a, Cb_b), (Y_a, Cr_b) as a batch of 3 (colour source b; if only a is colour: (Cb_a, Y_b), (Cr_a, Y_b)); fused planes are Y, Cb, Cr",
            "both-colour": (
                "network on (Y_a, Y_b); chroma C = (wa*C_a + wb*C_b') / (wa + wb) for Cb and Cr, with "
                f"wa = m * (|Cb_a-128| + |Cr_a-128| + {CHROMA_EPS}), wb = (1-m) * (|Cb_b'-128| + |Cr_b'-128| + {CHROMA_EPS}), "
                "m the Y-pass mask, b' the chroma of b warped by the Y-pass flow"
            ),
        },
        "tasks": [
            {
                "id": graph_task_id(t, strategy[t.name], conditioned),
                "name": t.name,
                "source_a": t.dir_a,
                "source_b": t.dir_b,
                "plan": t.plan,
                "strategy": strategy[t.name],
                **({"strategies": {st: graph_task_id(t, st, True) for st in STRATEGIES}} if conditioned else {}),
                "register": (default_registers or {}).get(t.name) or "none",
                # informational: the gate is baked into the encoder graph (FusionNet.set_network_flow)
                "network_flow": t.name not in model.network_flow_off(),
                "stages": {"hi": t.stages[0], "lo": t.stages[1]},
                "default_strength": default_strengths[t.name],
                # fccf fuse --denoise: strength by the sources' estimated noise (noise.denoise_strength_for)
                **({"denoise": denoise[t.name]} if denoise and t.name in denoise else {}),
            }
            for t in TASKS
        ],
        "parameters": {"encoder": enc_p, "denoiser": den_p, "total": enc_p + den_p},
        "config": model.cfg.to_dict(),
        **measured,
        "training": training,
        "quality": quality or {},
    }


def write_card(path: Path, card: dict[str, object]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=1) + "\n")
    tmp.replace(path)
