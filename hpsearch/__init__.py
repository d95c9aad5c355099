"""hpsearch: find the best way to finetune small BERT models.

The subpackages are layers in the order data flows, each importing only those below it
(checked by ``lint-imports``; see ``[tool.importlinter]`` in pyproject.toml):

    cli → report → compare → search → train → data → spec → registries → leaves

The registries are every extensible choice a study names, one entry each: optimizers
(:mod:`hpsearch.optim`), pruners and samplers (:mod:`hpsearch.pruners`) and lr schedules
(:mod:`hpsearch.schedules`), over :mod:`hpsearch.registry`.

A study file becomes a validated spec (:mod:`hpsearch.spec`), the spec's task becomes
tokenized batches (:mod:`hpsearch.data`), a trial trains a model on them
(:mod:`hpsearch.train`, with :mod:`hpsearch.optim`), Optuna studies run trials on a storage
(:mod:`hpsearch.search`), finished studies are compared as arms over paired re-runs
(:mod:`hpsearch.compare`), a study's report adds its own tables (:mod:`hpsearch.report`),
and the command line shows it all (:mod:`hpsearch.cli`).
"""

from hpsearch.errors import HpsearchError, SpecError

__all__ = ["HpsearchError", "SpecError"]
__version__ = "0.1.0"
