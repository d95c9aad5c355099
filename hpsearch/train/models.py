"""Models from a checkpoint: a sequence classifier, or one encoder with a head per task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpsearch.data.pretrained import ModelLoadError, quiet_transformers, resolve_model

if TYPE_CHECKING:
    from torch import nn

    from hpsearch.metrics import LabelKind
    from hpsearch.train.heads import HeadSpec, MultitaskModel


def build_model(
    name: str,
    *,
    num_labels: int,
    kind: LabelKind,
    num_hidden_layers: int | None = None,
    hidden_dropout: float = 0.1,
    attention_dropout: float = 0.1,
    speed_ups: bool = True,
) -> nn.Module:
    """A sequence classifier (or regressor, ``num_labels=1``) with the trial's dropout.

    ``num_hidden_layers`` keeps the first N encoder layers of the checkpoint; the last one
    computes the [CLS] row only (:mod:`hpsearch.train.cls_only`: same loss and gradients), and
    its dropout, the attention probabilities' too, draws CPU masks faster
    (:mod:`hpsearch.train.dropout`, :mod:`hpsearch.train.attention`: same distribution).
    ``speed_ups=False`` leaves those out: transformers' model as it loads, the one a Hugging
    Face ``Trainer`` user trains. The new head's weights come from torch's global RNG: seed
    it first for a reproducible trial.
    """
    from transformers import AutoModelForSequenceClassification

    from hpsearch.train.attention import fast_attention_dropout
    from hpsearch.train.cls_only import cls_only_last_layer
    from hpsearch.train.dropout import fast_dropout

    overrides = {
        "num_labels": num_labels,
        "problem_type": "regression" if kind == "regression" else "single_label_classification",
    }
    model = _load(
        AutoModelForSequenceClassification,
        name,
        num_hidden_layers,
        hidden_dropout,
        attention_dropout,
        overrides,
    )
    if speed_ups:
        cls_only_last_layer(model)  # the classifier reads the [CLS] row of the last layer only
        fast_dropout(model)  # masks drawn 16 bits at a time on the CPU: same distribution
        fast_attention_dropout(model)  # so are the attention probabilities'
    return model


def build_multitask_model(
    name: str,
    *,
    heads: Mapping[str, HeadSpec],
    num_hidden_layers: int | None = None,
    hidden_dropout: float = 0.1,
    attention_dropout: float = 0.1,
) -> MultitaskModel:
    """One encoder and a head per task (``heads``: task key → what its head outputs).

    The heads (dropout ``hidden_dropout``, see :mod:`hpsearch.train.heads`) are made in the order
    of ``heads``, from torch's global RNG: seed it first for a reproducible trial. As in
    :func:`build_model`, the encoder's last layer computes the [CLS] row only.
    """
    from transformers import AutoModel

    from hpsearch.train.attention import fast_attention_dropout
    from hpsearch.train.cls_only import cls_only_last_layer
    from hpsearch.train.dropout import fast_dropout
    from hpsearch.train.heads import MultitaskModel, TaskHead

    encoder = _load(AutoModel, name, num_hidden_layers, hidden_dropout, attention_dropout, {})
    cls_only_last_layer(encoder)  # every head reads the [CLS] row of the last layer only
    config = encoder.config
    model = MultitaskModel(
        encoder,
        {
            key: TaskHead(config.hidden_size, head, hidden_dropout, config.initializer_range)
            for key, head in heads.items()
        },
    )
    fast_dropout(model)  # as in build_model
    fast_attention_dropout(model)
    return model


def _load(
    auto_class: type,
    name: str,
    num_hidden_layers: int | None,
    hidden_dropout: float,
    attention_dropout: float,
    overrides: dict[str, Any],
) -> nn.Module:
    """``auto_class.from_pretrained`` of model ``name`` with the trial's dropout, cut to
    ``num_hidden_layers``; any failure is a :class:`ModelLoadError`."""
    from transformers import AutoConfig

    path = resolve_model(name)
    overrides = {
        **overrides,
        "hidden_dropout_prob": hidden_dropout,
        "attention_probs_dropout_prob": attention_dropout,
    }
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(path, **overrides)
            if num_hidden_layers is not None:
                if num_hidden_layers > config.num_hidden_layers:
                    raise ModelLoadError(
                        f"model {name!r} has {config.num_hidden_layers} layers; "
                        f"`model.num_hidden_layers` = {num_hidden_layers} is too many"
                    )
                config.num_hidden_layers = num_hidden_layers
            return auto_class.from_pretrained(path, config=config)
    except ModelLoadError:
        raise
    except Exception as e:
        raise ModelLoadError(f"cannot load model {name!r} ({path}): {e}") from e


def row_sparse_embeddings(model: nn.Module, max_rows: int) -> dict[nn.Parameter, int]:
    """``{word-embedding weight: max_rows}``: the parameter whose gradient touches few rows.

    A batch's gradient of the input word embedding is zero outside the rows of its tokens, so
    M-FAC can store it row-sparse (see ``hpsearch.optim.mfac``). ``max_rows`` bounds the
    rows one step touches (capped at the vocabulary). Empty when the weight is tied to an
    output layer (a language-model head): that gradient is dense.
    """
    embeddings = model.get_input_embeddings()
    output = model.get_output_embeddings()
    if output is not None and output.weight is embeddings.weight:
        return {}
    return {embeddings.weight: min(max_rows, embeddings.weight.shape[0])}
