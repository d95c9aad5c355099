"""Study files: TOML → overrides → a frozen, validated :class:`~hpsearch.spec.schema.Spec`.

Layer 1 of 7 (above the registries :mod:`hpsearch.optim`, :mod:`hpsearch.pruners` and
:mod:`hpsearch.schedules`, which it validates against, and the leaves, which it may all
import; it may also import optuna, for ``suggest``). Modules:

- :mod:`~hpsearch.spec.schema`: one pydantic model per section, every default once;
- :mod:`~hpsearch.spec.load`: reading a study file and ``--set`` overrides;
- :mod:`~hpsearch.spec.validate`: the raw dict → a Spec, every error naming file and key;
- :mod:`~hpsearch.spec.space`: ``[space]`` entries (ranges and choices);
- :mod:`~hpsearch.spec.suggest`: the one mapping from a space to ``trial.suggest_*``;
- :mod:`~hpsearch.spec.tasks`: the task catalogue (names, fields, primary metrics);
- :mod:`~hpsearch.spec.paths`: data paths, relative to the study file or under the data
  folder (``$HPSEARCH_DATA/...``).
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "load": ("load_spec",),
        "schema": ("Spec",),
        "suggest": ("suggest",),
    },
)
