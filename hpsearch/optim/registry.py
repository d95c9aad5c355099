"""The optimizer registry: every optimizer a study can name, with its hyperparameters.

Each optimizer is one frozen :class:`OptimizerEntry`: a name, a display label, a one-line
description, a factory and the defaults of its hyperparameters, in a
:class:`~hpsearch.registry.Registry`. A study file's ``[optimizer]`` section may
only set hyperparameters that the chosen optimizer takes; anything else is an error rather
than being silently dropped. ``lr`` and ``weight_decay`` are not hyperparameters of an entry:
they live in ``[train]`` and reach the factory through the parameter groups. Nor is
``row_sparse``: it describes the model (which parameters get row-sparse gradients), not the
optimizer, and reaches the optimizers that store gradients through :meth:`OptimizerEntry.create`.
A hyperparameter that takes one of a few names (M-FAC's ``layout``) lists them in the entry's
``choices``, which spec validation checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpsearch.optim.mfac_names import BUFFER_DTYPES, LAYOUTS, WEIGHT_DECAY_MODES
from hpsearch.registry import Registry, resolve_options

if TYPE_CHECKING:
    import torch  # imported by the factories: spec validation reads the registry, torch-free

ParamGroups = Iterable[dict[str, Any]]
RowSparse = Mapping["torch.Tensor", int]  # parameter -> the most rows one gradient touches


@dataclass(frozen=True)
class OptimizerEntry:
    """One optimizer of the registry.

    Args:
        name: Lower-case name used in study files (``optimizer.kind``).
        label: How the name reads in reports and help ("M-FAC").
        description: One line for ``hpsearch optimizers`` and error messages.
        factory: ``factory(param_groups, lr=..., **hparams) -> torch.optim.Optimizer``. Each
            group carries its own ``weight_decay`` (and, for layer-wise rates, its own ``lr``).
        hparams: Every hyperparameter the factory takes besides ``lr``, with its default. The
            default's type is the type a study file must give.
        accepts_new_params: Whether parameters can join after construction
            (``add_param_group``), as when gradual unfreezing unfreezes a layer. False: the
            optimizer's state is sized for its parameters at construction (M-FAC's gradient
            buffer), so the trainer builds a new one over the new trainable set instead.
        takes_row_sparse: The factory also takes ``row_sparse`` (an optimizer that stores
            gradients, and stores row-sparse ones in less memory).
        choices: For a hyperparameter that takes one of a few names, those names (the
            default among them); a study file that gives another is an error naming the key.
    """

    name: str
    label: str
    description: str
    factory: Callable[..., torch.optim.Optimizer]
    hparams: Mapping[str, Any] = field(default_factory=dict)
    accepts_new_params: bool = True
    takes_row_sparse: bool = False
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def options(self) -> Mapping[str, Any]:
        """The hyperparameters, under the name every registry entry uses."""
        return self.hparams

    def create(
        self,
        param_groups: ParamGroups,
        *,
        lr: float,
        row_sparse: RowSparse | None = None,
        **hparams: Any,
    ) -> torch.optim.Optimizer:
        """Build the optimizer; unknown hyperparameters are an error, missing ones defaulted.

        ``row_sparse`` (``{parameter: max_rows}``, e.g. the word embedding) goes to optimizers
        with ``takes_row_sparse``; the others' steps do not depend on how sparse a gradient is,
        so they have no use for it.
        """
        resolved = resolve_options(f"optimizer {self.name!r}", self.hparams, hparams)
        extra = {"row_sparse": row_sparse} if self.takes_row_sparse and row_sparse else {}
        return self.factory(param_groups, lr=lr, **resolved, **extra)


def _adamw(param_groups: ParamGroups, *, lr: float, beta1: float, beta2: float, eps: float):
    import torch

    return _fastest(torch.optim.AdamW, param_groups, lr=lr, betas=(beta1, beta2), eps=eps)


def _mfac(param_groups: ParamGroups, *, lr: float, **hparams: Any):
    from hpsearch.optim.mfac import MFAC  # imported lazily: it is only needed when chosen

    return MFAC(param_groups, lr=lr, **hparams)


def _sgd(param_groups: ParamGroups, *, lr: float, momentum: float, nesterov: bool):
    import torch

    return _fastest(torch.optim.SGD, param_groups, lr=lr, momentum=momentum, nesterov=nesterov)


def _fastest(
    cls: type[torch.optim.Optimizer], param_groups: ParamGroups, **kwargs: Any
) -> torch.optim.Optimizer:
    """``cls`` in the fastest implementation torch has for the parameters' device: ``fused``
    (one kernel for every parameter's update, on CUDA and, in recent torch, on CPU), else
    ``foreach`` (one kernel per operation over all parameters).

    The math is the same; only rounding may differ. The per-parameter loop (torch's default
    on CPU) costs a trainer step on a small BERT about a third of its time on CPU.
    """
    # Each group's params as a list: a generator would be used up by a refused first try.
    groups = [{**g, "params": _as_list(g["params"])} for g in param_groups]
    try:
        return cls(groups, fused=True, **kwargs)
    except (RuntimeError, ValueError):  # this device or dtype has no fused implementation
        return cls(groups, foreach=True, **kwargs)


def _as_list(params: Any) -> list[Any]:
    return [params] if hasattr(params, "grad") else list(params)


def _entries() -> list[OptimizerEntry]:
    return [
        OptimizerEntry(
            "adamw",
            "AdamW",
            "AdamW (decoupled weight decay); the baseline of the M-FAC model cards",
            _adamw,
            {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        ),
        OptimizerEntry(
            "mfac",
            "M-FAC",
            "M-FAC: matrix-free inverse empirical Fisher over the last num_grads gradients",
            _mfac,
            # The model cards' setup: m = 1024 gradients, damping 1e-6, no momentum. layout:
            # "auto" keeps word-embedding gradients row-sparse (same update, less memory),
            # "dense" stores them whole. weight_decay_mode: "decoupled" as AdamW (what
            # studies ran before the option), "coupled" as the authors' code.
            {
                "num_grads": 1024,
                "damp": 1e-6,
                "momentum": 0.0,
                "buffer_dtype": "float32",
                "layout": "auto",
                "weight_decay_mode": "decoupled",
            },
            accepts_new_params=False,
            takes_row_sparse=True,
            choices={
                "buffer_dtype": BUFFER_DTYPES,
                "layout": LAYOUTS,
                "weight_decay_mode": WEIGHT_DECAY_MODES,
            },
        ),
        OptimizerEntry(
            "sgd",
            "SGD",
            "SGD with (optionally Nesterov) momentum",
            _sgd,
            {"momentum": 0.9, "nesterov": True},
        ),
    ]


OPTIMIZERS: Registry[OptimizerEntry] = Registry("optimizer", _entries())


def list_optimizers() -> list[str]:
    """Names of all registered optimizers, sorted."""
    return OPTIMIZERS.names()


def get_optimizer(name: str) -> OptimizerEntry:
    """The registry entry called ``name``; an unknown name lists the valid ones."""
    return OPTIMIZERS.entry(name)
