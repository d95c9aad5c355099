"""One training run: ``train(spec, data) -> result``, with the models and schemes it uses.

Layer 3 of 6: may import :mod:`hpsearch.data`, :mod:`hpsearch.spec`, :mod:`hpsearch.optim`
and the leaves; never optuna or rich (it reports through callbacks). Modules:

- :mod:`~hpsearch.train.trainer`: the loop, evaluation and the result;
- :mod:`~hpsearch.train.models`, :mod:`~hpsearch.train.heads`: models, per-task heads;
- :mod:`~hpsearch.train.finetune`, :mod:`~hpsearch.train.adapters`: which parameters train;
- :mod:`~hpsearch.train.schedules`: setting the scheduled learning rates (the schedules
  are :mod:`hpsearch.schedules`);
- :mod:`~hpsearch.train.pcgrad`: PCGrad gradient surgery for multitask training.
"""

__all__ = ["adapters", "finetune", "heads", "models", "pcgrad", "schedules", "trainer"]
