"""Parity fixtures for the TypeScript engine: small test pairs run through the Python reference.

Each case folder `models/parity/<case>/` holds `a.png`, `b.png` (the inputs), `out.png` (the
reference output) and `case.json`: task, strategy, register (null, "ngf" or "auto"), strength, steps, seed, sampler, the plan timesteps and
stages, the exact noise used (so an engine can replay it instead of drawing its own), and the float
outputs: per-plane fused values and composite in [-1, 1], the Y-pass mask and flow, all cropped to
the image size, row-major. The noise is given at the padded size (the network's input size).

Example::

    write_case(model, Path("models/parity/vi-ir-s02"), a, b, "VI-IR", strength=0.2, steps=4, seed=7)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .images import save_png
from .infer import fuse_images, pad_to_multiple
from .model import INPUT_MULTIPLE, FusionNet
from .noise import estimate_noise
from .tasks import task_by_name

SAMPLER = "dpmsolver++"
SAMPLER_DETAIL = {
    "name": "dpmsolver++",
    "order": 2,
    "solver_type": "midpoint",
    "final_sigmas_type": "zero",
    "first_and_last_step_first_order": True,
}
FLOAT_TOLERANCE = 1e-4
"""Agreement an ONNX engine (float32, different kernels) should reach on the float outputs."""


def _flat(x: np.ndarray) -> list[float]:
    return [float(f"{v:.8g}") for v in np.asarray(x, dtype=np.float32).ravel().tolist()]


def write_case(
    model: FusionNet,
    out_dir: Path,
    a: np.ndarray,
    b: np.ndarray,
    task: str,
    strength: float,
    steps: int,
    seed: int,
    note: str = "",
    strategy: str | None = None,
    register: str | None = None,
    denoise: bool = False,
) -> dict[str, object]:
    """Run one pair through `fuse_images` and write the fixture folder; returns case.json content.
    ``strategy`` None is the task's training strategy; case.json always names the one used.
    Every case records the sources' noise estimates (``noise.estimate_noise``); ``denoise`` marks a
    case whose strength the card's denoise rule chose from them (engines replay it with denoise on)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    strategy = strategy or task_by_name(task).strategy
    res = fuse_images(model, a, b, task, strength, steps, seed=seed, strategy=strategy, register=register)
    save_png(out_dir / "a.png", a)
    save_png(out_dir / "b.png", b)
    save_png(out_dir / "out.png", res.image)
    h, w = a.shape[:2]
    hp = h + (-h) % INPUT_MULTIPLE
    wp = w + (-w) % INPUT_MULTIPLE
    case: dict[str, object] = {
        "task": task,
        "strategy": strategy,
        "register": register,
        "denoise": denoise,
        "noise_estimate": {"a": estimate_noise(a), "b": estimate_noise(b)},
        "note": note,
        "width": w,
        "height": h,
        "padded": {"width": wp, "height": hp, "mode": "reflect, bottom and right"},
        "strength": strength,
        "steps": steps,
        "seed": seed,
        "sampler": SAMPLER_DETAIL,
        "timesteps": res.timesteps,
        "stages": res.stages,
        "planes": int(res.planes.shape[0]),
        "noise": None if res.noise is None else [_flat(n) for n in res.noise],
        "fused_planes": [_flat(p) for p in res.planes],
        "composite_planes": [_flat(p) for p in res.comp],
        "mask": _flat(res.mask),
        "flow": [_flat(res.flow[0]), _flat(res.flow[1])],
        "output": "out.png",
        "tolerance": {"float": FLOAT_TOLERANCE, "png": 1},
    }
    (out_dir / "case.json").write_text(json.dumps(case))
    return case


def replay_case(model: object, case_dir: Path) -> dict[str, float]:
    """Re-run a written case with another implementation of the graphs (e.g. `export.OrtModel`),
    replaying its recorded noise; returns the max abs float differences and the max PNG difference."""
    from PIL import Image

    case = json.loads((case_dir / "case.json").read_text())
    a = np.asarray(Image.open(case_dir / "a.png"))
    b = np.asarray(Image.open(case_dir / "b.png"))
    noise = None
    if case["noise"] is not None:
        hp, wp = case["padded"]["height"], case["padded"]["width"]
        noise = np.array(case["noise"], dtype=np.float32).reshape(-1, hp, wp)
    res = fuse_images(model, a, b, case["task"], case["strength"], case["steps"], seed=case["seed"], noise=noise,  # type: ignore[arg-type]
                      strategy=case.get("strategy"), register=case.get("register"))
    h, w = case["height"], case["width"]
    want = np.array(case["fused_planes"], dtype=np.float32).reshape(-1, h, w)
    comp = np.array(case["composite_planes"], dtype=np.float32).reshape(-1, h, w)
    out = np.asarray(Image.open(case_dir / case["output"])).astype(np.int64)
    return {
        "fused": float(np.max(np.abs(res.planes - want))),
        "composite": float(np.max(np.abs(res.comp - comp))),
        "mask": float(np.max(np.abs(res.mask - np.array(case["mask"], dtype=np.float32).reshape(h, w)))),
        "png": float(np.max(np.abs(res.image.astype(np.int64) - out))),
    }


def crop(img: np.ndarray, y: int, x: int, h: int, w: int) -> np.ndarray:
    return np.ascontiguousarray(img[y : y + h, x : x + w])


__all__ = ["write_case", "crop", "pad_to_multiple", "SAMPLER_DETAIL"]
