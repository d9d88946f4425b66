"""Deterministic validation split carved from a training root (data/test is never used for choices).

A pair belongs to validation when the first 8 hex digits of sha256("<TASK>/<name>") mod 100 are
below ``VAL_PERCENT``; tasks where that picks nothing get their single lowest-hash pair as
validation (so every task has at least one), unless the task has fewer than 4 pairs in total.
``set_min_pairs(n)`` tops every task up, in the same hash order, to min(n, a fifth of its pairs):
at 10% the small tasks get 2-8 validation pairs, too few to choose defaults on. A training run
records the value it used (``--val-min``) and the gate applies the one its checkpoint records.

Example::

    from fccf_train.split import is_validation
    is_validation("VI-IR", "m3fd_00012", all_names)  # -> bool, same on every machine
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

VAL_PERCENT = 10
_min_pairs = 0


def set_min_pairs(n: int) -> None:
    """Validation splits from now on hold at least min(n, len(names) // 5) pairs per task (0: the
    10% rule alone, the split of every run before ``--val-min``)."""
    global _min_pairs
    if n < 0:
        raise ValueError(f"minimum validation pairs must be >= 0, got {n}")
    _min_pairs = n


def pair_hash(task: str, name: str) -> int:
    return int(hashlib.sha256(f"{task}/{name}".encode()).hexdigest()[:8], 16)


def validation_names(task: str, names: Iterable[str]) -> set[str]:
    """Names (of one task) that form the validation split."""
    names = sorted(set(names))
    val = {n for n in names if pair_hash(task, n) % 100 < VAL_PERCENT}
    if not val and len(names) >= 4:
        val = {min(names, key=lambda n: pair_hash(task, n))}
    # topped up in the order the percentage rule uses: the next hash buckets first
    for n in sorted(names, key=lambda n: (pair_hash(task, n) % 100, pair_hash(task, n))):
        if len(val) >= min(_min_pairs, len(names) // 5):
            break
        val.add(n)
    return val


def is_validation(task: str, name: str, all_names: Iterable[str]) -> bool:
    return name in validation_names(task, all_names)
