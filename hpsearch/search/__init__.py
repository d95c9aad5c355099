"""Optuna studies: the objective, creating and resuming studies, the budget, workers, crash
safety, storages, pruners and samplers, re-running configs over seeds, the trial record that
reports read, and the leaderboard.

Layer 4 of 7: may import :mod:`hpsearch.train` and everything below it, and optuna; never
rich (progress goes through the :class:`~hpsearch.search.progress.Progress` protocol).
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "study": (
            "StudyNotFoundError",
            "load_study",
            "prepare_study",
            "run_study",
        ),
        "workers": ("run_workers",),
        "objective": ("Objective",),
        "reseed": (
            "ReseedError",
            "reseed",
            "reseed_name",
        ),
        "record": (
            "EvalPoint",
            "Evaluation",
            "RunCost",
            "SeedRun",
            "TrialRecord",
            "read_record",
            "seed_run",
            "top_trials",
            "write_record",
        ),
        "storage": (
            "StorageError",
            "open_storage",
            "read_trials",
        ),
        "leaderboard": (
            "leaderboard_rows",
            "study_summary_rows",
        ),
        "progress": ("Progress",),
    },
)
