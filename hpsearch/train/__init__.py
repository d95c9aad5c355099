"""One training run: ``train(spec, data) -> result``, with the models and schemes it uses.

Layer 3 of 7: may import :mod:`hpsearch.data`, :mod:`hpsearch.spec`, :mod:`hpsearch.optim`
and the leaves; never optuna or rich (it reports through callbacks). Modules:

- :mod:`~hpsearch.train.trainer`: the loop, evaluation and the result;
- :mod:`~hpsearch.train.models`, :mod:`~hpsearch.train.heads`: models, per-task heads;
- :mod:`~hpsearch.train.finetune`, :mod:`~hpsearch.train.adapters`: which parameters train;
- :mod:`~hpsearch.train.learning_rates`: setting the scheduled learning rates (the schedules
  are :mod:`hpsearch.schedules`);
- :mod:`~hpsearch.train.pcgrad`: PCGrad gradient surgery for multitask training.
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "trainer": (
            "TrainResult",
            "train",
        ),
        "models": (
            "build_model",
            "build_multitask_model",
        ),
    },
)
