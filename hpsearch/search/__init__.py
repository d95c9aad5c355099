"""Optuna studies: the objective, creating and resuming studies, the budget, workers, crash
safety, storages, pruners and samplers, and re-running configs over seeds.

Layer 4 of 6: may import :mod:`hpsearch.train` and everything below it, and optuna; never
rich (progress goes through the :class:`~hpsearch.search.progress.Progress` protocol).
"""

__all__ = [
    "interrupts",
    "liveness",
    "note",
    "objective",
    "progress",
    "pruners",
    "reseed",
    "runner",
    "storage",
    "study",
    "workers",
]
