"""Where a study's probes live: the companion study ``<name>-calibration`` in the study's
own storage, one complete trial per finished probe.

A probe is written whole when it ends (the user attr ``probe``: its
:class:`~hpsearch.search.calibration.model.Probe` as JSON; ``arm``: its label; ``lr``), so
a crash or Ctrl-C loses only the probe that was running. The trial's value is the probe's
validation loss (``inf`` where it was not finite), which keeps the companion readable on its
own (``hpsearch leaderboard --all``, the dashboard) without passing for a search: it has no
params. Trials of an older calibration (the range tests', attr ``range_test``) are not
probes and are passed over. Studies are loaded by name everywhere else, so the companion,
like ``-reseed``, is seen only where a storage's studies are listed.
"""

from __future__ import annotations

import logging
import math
import warnings

import optuna
from optuna.trial import TrialState

from hpsearch.search.calibration.model import Probe, read_probe
from hpsearch.search.storage import read_trials, storage_exists

log = logging.getLogger(__name__)

CALIBRATION_SUFFIX = "-calibration"
PROBE_ATTR = "probe"
ARM_ATTR = "arm"
LR_ATTR = "lr"
VALUE_NAME = "validation loss"


def calibration_name(study_name: str) -> str:
    """Name of the companion study that holds the probes of ``study_name``."""
    return study_name + CALIBRATION_SUFFIX


def stored_probes(url: str, study_name: str) -> list[Probe]:
    """Every finished probe of ``study_name`` at ``url``, oldest first; none when the
    storage or the companion study does not exist. Only reads."""
    if not storage_exists(url):
        return []
    try:
        trials = read_trials(url, calibration_name(study_name))
    except KeyError:  # no companion study: never calibrated
        return []
    probes = []
    for trial in trials:
        stored = trial.user_attrs.get(PROBE_ATTR)
        if trial.state != TrialState.COMPLETE or stored is None:
            continue
        try:
            probes.append(read_probe(stored))
        except ValueError as e:  # written by another version: left out, said
            log.warning("%s trial %d: %s; left out", calibration_name(study_name), trial.number, e)
    return probes


def save_probe(storage: optuna.storages.BaseStorage, study_name: str, probe: Probe) -> None:
    """Add ``probe`` to the companion study of ``study_name``, created if new."""
    name = calibration_name(study_name)
    try:
        companion = optuna.create_study(study_name=name, storage=storage, direction="minimize")
        companion.set_user_attr("calibrates", study_name)
        with warnings.catch_warnings():  # experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            companion.set_metric_names([VALUE_NAME])
    except optuna.exceptions.DuplicatedStudyError:
        companion = optuna.load_study(study_name=name, storage=storage)
    companion.add_trial(
        optuna.trial.create_trial(
            value=math.inf if probe.loss is None else probe.loss,
            user_attrs={
                ARM_ATTR: probe.arm.label,
                LR_ATTR: probe.lr,
                PROBE_ATTR: probe.to_dict(),
            },
        )
    )
