"""Exploration-to-stability weighting: one policy update, decaying exploration, resumable state."""
from __future__ import annotations

import math

import torch

from fccf_train.rl import RLWeighting


def _feed(w: RLWeighting, steps: int, start: int, decay: list[float]) -> None:
    for s in range(start, start + steps):
        w.observe({n: 1.0 * math.exp(-d * s) for n, d in zip(w.names, decay)})


def test_one_policy_update_changes_policy_and_records_reward() -> None:
    w = RLWeighting(["a", "b", "c"], [1.0, 2.0, 0.5], period=10, seed=0)
    assert torch.allclose(w.weights(), torch.tensor([1.0, 2.0, 0.5]))
    _feed(w, 10, 0, [0.01, 0.02, 0.0])
    assert w.due(10)
    first = w.update(progress=0.0, step=10)
    assert "reward" not in first  # nothing to reward yet: first action only
    weights = torch.tensor(first["new_weights"])
    assert (weights > 0).all()
    # the multipliers are centred: the product of weight ratios is 1
    assert abs(float(torch.log(weights / torch.tensor([1.0, 2.0, 0.5])).sum())) < 1e-5
    _feed(w, 10, 10, [0.01, 0.02, 0.0])
    rec = w.update(progress=0.1, step=20)
    assert math.isfinite(rec["reward"]) and rec["improvement"] > 0  # losses went down
    # the baseline starts at the first reward (zero advantage); the next period moves the policy
    before = [p.detach().clone() for p in w.policy.parameters()]
    _feed(w, 10, 20, [0.05, 0.0, 0.0])
    rec = w.update(progress=0.2, step=30)
    assert rec["reward"] != rec["baseline"]
    after = list(w.policy.parameters())
    assert any(not torch.equal(x, y) for x, y in zip(before, after))
    assert len(w.trajectory) == 3


def test_exploration_decays() -> None:
    w = RLWeighting(["a"], [1.0], sigma_start=0.6, sigma_end=0.05)
    assert abs(w.sigma(0.0) - 0.6) < 1e-9 and abs(w.sigma(1.0) - 0.05) < 1e-9
    assert w.sigma(0.25) > w.sigma(0.5) > w.sigma(0.75)


def test_state_roundtrip_gives_the_same_next_action() -> None:
    def make() -> RLWeighting:
        w = RLWeighting(["a", "b"], [1.0, 1.0], period=5, seed=1)
        _feed(w, 10, 0, [0.02, 0.01])
        w.update(progress=0.2, step=10)
        _feed(w, 5, 10, [0.02, 0.01])
        return w

    w1 = make()
    w2 = RLWeighting(["a", "b"], [1.0, 1.0], period=5, seed=99)
    w2.load_state_dict(w1.state_dict())
    r1, r2 = w1.update(progress=0.3, step=15), w2.update(progress=0.3, step=15)
    assert r1["new_weights"] == r2["new_weights"]
