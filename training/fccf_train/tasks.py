"""Task registry shared by training, evaluation and export.

Each task has a stable integer id (the ``task`` input of the encoder graph), the data folder names
of its two sources in the ``<root>/<TASK>/<modA>/<name>.png`` layout, a channel plan, an intensity
strategy and default stage boundaries for hierarchical conditioning.

Conventions (fixed by the model contract, do not reorder ids):
- source A (``cond[:, 0]``) is the structural / visible / MRI / under-exposed / first-focus image;
  source B (``cond[:, 1]``) is the functional / thermal / NIR / DoLP / over-exposed / second-focus image.
- plan ``y``: the network fuses Y; chroma comes from the colour source.
  plan ``full-colour``: the network is run on Y, Cb and Cr of the colour source B, each against the
  grey A (Diff-FCCF mode for SPECT/PET-MRI); training therefore also sees (A_Y, B_Cb) and (A_Y, B_Cr).
  plan ``both-colour``: both sources may be colour; Y is fused, chroma is blended outside the network.
- strategy ``max`` / ``mean``: intensity target of the fusion loss (LFDT: MEAN for MEF and VI-NIR).
  ``Task.strategy`` is the training default; a strategy-conditioned model (``ModelConfig.strategies``)
  learns both and takes the strategy through the ``task`` input: ``graph_task_id``.
- ``stages``: (hi, lo) fractions of the sampled range [0, t_start]: t/t_start > hi -> condition (b, b),
  lo < t/t_start <= hi -> (a, b), t/t_start <= lo -> (a, a).

Example::

    from fccf_train.tasks import TASKS, task_by_name
    t = task_by_name("MED-SPECT"); assert t.id == 3 and t.plan == "full-colour"
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Plan = Literal["y", "full-colour", "both-colour"]
Strategy = Literal["max", "mean"]


@dataclass(frozen=True)
class Task:
    id: int
    name: str
    dir_a: str
    dir_b: str
    plan: Plan
    strategy: Strategy
    stages: tuple[float, float] = (0.8, 0.2)

    @property
    def colour_source(self) -> str | None:
        """Which source supplies chroma for ``y`` / ``full-colour`` plans ('a' or 'b')."""
        if self.plan == "full-colour":
            return "b"
        if self.plan == "y":
            return "a"
        return None


TASKS: tuple[Task, ...] = (
    Task(0, "VI-IR", "vi", "ir", "y", "max"),
    Task(1, "VI-NIR", "VI", "NIR", "y", "mean"),
    Task(2, "PIF", "S0", "DoLP", "y", "max"),
    Task(3, "MED-SPECT", "MRI", "SPECT", "full-colour", "max"),
    Task(4, "MED-PET", "MRI", "PET", "full-colour", "max"),
    Task(5, "MED-CT", "MRI", "CT", "y", "max"),
    Task(6, "MEF", "under", "over", "both-colour", "mean"),
    Task(7, "MFF", "source_1", "source_2", "both-colour", "max"),
)

NUM_TASKS = len(TASKS)


def task_by_name(name: str) -> Task:
    for t in TASKS:
        if t.name == name:
            return t
    known = ", ".join(t.name for t in TASKS)
    raise ValueError(f"unknown task {name!r}; known tasks: {known}")


STRATEGIES: tuple[Strategy, ...] = ("max", "mean")


def graph_task_id(task: Task, strategy: str | None, conditioned: bool) -> int:
    """The ``task`` input of the graphs for ``task`` fused with ``strategy`` (None: the task's default).

    A strategy-conditioned model has one id per (task, strategy): ``task.id + NUM_TASKS * i`` with i the
    index in ``STRATEGIES``; a model trained with one strategy per task has only ``task.id``.

    Example::

        graph_task_id(task_by_name("VI-IR"), "mean", conditioned=True)  # 0 + 8 * 1 = 9
    """
    strategy = strategy or task.strategy
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if not conditioned:
        if strategy != task.strategy:
            raise ValueError(f"this model was trained with strategy {task.strategy!r} only for {task.name}")
        return task.id
    return task.id + NUM_TASKS * STRATEGIES.index(strategy)  # type: ignore[arg-type]


def task_by_id(task_id: int) -> Task:
    if not 0 <= task_id < NUM_TASKS:
        raise ValueError(f"task id {task_id} out of range 0..{NUM_TASKS - 1}")
    return TASKS[task_id]
