"""Where a study's range tests live: the companion study ``<name>-calibration`` in the
study's own storage, one complete trial per finished test.

A test is written whole when it ends (the user attr ``range_test``: its
:class:`~hpsearch.search.calibration.model.RangeTest` as JSON; ``arm``: its label), so a
crash or Ctrl-C loses only the test that was running. The trial's value is the test's least
smoothed training loss (``inf`` where it had none), which keeps the companion readable on
its own (``hpsearch leaderboard --all``, the dashboard) without passing for a search: it has
no params. Studies are loaded by name everywhere else, so the companion, like ``-reseed``,
is seen only where a storage's studies are listed.
"""

from __future__ import annotations

import logging
import math
import warnings

import optuna
from optuna.trial import TrialState

from hpsearch.search.calibration.model import RangeTest, read_range_test
from hpsearch.search.storage import read_trials, storage_exists

log = logging.getLogger(__name__)

CALIBRATION_SUFFIX = "-calibration"
TEST_ATTR = "range_test"
ARM_ATTR = "arm"
VALUE_NAME = "least smoothed training loss"


def calibration_name(study_name: str) -> str:
    """Name of the companion study that holds the range tests of ``study_name``."""
    return study_name + CALIBRATION_SUFFIX


def stored_tests(url: str, study_name: str) -> list[RangeTest]:
    """Every finished range test of ``study_name`` at ``url``, oldest first; none when the
    storage or the companion study does not exist. Only reads."""
    if not storage_exists(url):
        return []
    try:
        trials = read_trials(url, calibration_name(study_name))
    except KeyError:  # no companion study: never calibrated
        return []
    tests = []
    for trial in trials:
        stored = trial.user_attrs.get(TEST_ATTR)
        if trial.state != TrialState.COMPLETE or stored is None:
            continue
        try:
            tests.append(read_range_test(stored))
        except ValueError as e:  # written by another version: left out, said
            log.warning("%s trial %d: %s; left out", calibration_name(study_name), trial.number, e)
    return tests


def save_test(storage: optuna.storages.BaseStorage, study_name: str, test: RangeTest) -> None:
    """Add ``test`` to the companion study of ``study_name``, created if new."""
    name = calibration_name(study_name)
    try:
        companion = optuna.create_study(study_name=name, storage=storage, direction="minimize")
        companion.set_user_attr("calibrates", study_name)
        with warnings.catch_warnings():  # experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            companion.set_metric_names([VALUE_NAME])
    except optuna.exceptions.DuplicatedStudyError:
        companion = optuna.load_study(study_name=name, storage=storage)
    smoothed = [p.smoothed for p in test.curve if p.smoothed is not None]
    companion.add_trial(
        optuna.trial.create_trial(
            value=min(smoothed, default=math.inf),
            user_attrs={ARM_ATTR: test.arm.label, TEST_ATTR: test.to_dict()},
        )
    )
