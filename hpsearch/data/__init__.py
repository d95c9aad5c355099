"""A spec's task as tokenized batches: loading rows, the tokenizer, encoding and batching.

Layer 2 of 7: may import :mod:`hpsearch.spec`, :mod:`hpsearch.optim` and the leaves; never
optuna or rich. Modules:

- :mod:`~hpsearch.data.load`: GLUE through ``datasets``, local files, the offline snippets;
- :mod:`~hpsearch.data.pretrained`: where ``model.name`` points, and its tokenizer;
- :mod:`~hpsearch.data.encode`: tokenized splits and the per-run cache of them;
- :mod:`~hpsearch.data.batches`: length-grouped, dynamically padded batches.
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "load": (
            "TaskData",
            "load_task",
        ),
        "encode": (
            "DataCache",
            "EncodedTask",
        ),
    },
)
