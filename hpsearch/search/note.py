"""The study file as the study's optuna-dashboard note, saved when a study is created.

The note is stored in the study, where anyone who can read the storage reads it: the
password of any URL in the study file is hidden (``storage = "postgresql://me:***@..."``).
"""

from __future__ import annotations

from pathlib import Path

import optuna

from hpsearch.search.storage import mask_secrets
from hpsearch.spec.schema import Spec


def study_note(spec: Spec, intro: str = "") -> str:
    """Markdown note for the dashboard: the study file, verbatim, under its path."""
    try:
        text = Path(spec.source).read_text(encoding="utf-8")
    except OSError:
        text = ""
    lines = [f"## {spec.study.name}", ""]
    if intro:
        lines += [intro, ""]
    text = mask_secrets(text.rstrip("\n"))
    lines += [f"Study file `{spec.source}`:", "", "```toml", text, "```", ""]
    return "\n".join(lines)


def save_study_note(study: optuna.Study, spec: Spec, intro: str = "") -> None:
    """Save :func:`study_note` as the study's dashboard note (replacing an earlier one)."""
    from optuna_dashboard import save_note

    save_note(study, study_note(spec, intro))


def has_note(study: optuna.Study) -> bool:
    from optuna_dashboard import get_note

    return bool(get_note(study))
