"""Calibrating a study's learning-rate ranges: a ladder of fixed-lr probes per arm, by one
rule.

- :mod:`~hpsearch.search.calibration.model`: the typed data (probes, outcomes, the
  calibrated ranges);
- :mod:`~hpsearch.search.calibration.arms`: a study's arms, and the spec of each arm's
  probes;
- :mod:`~hpsearch.search.calibration.rule`: the ladder of lrs an arm's probes walk, and the
  range they give;
- :mod:`~hpsearch.search.calibration.probe`: running one probe with the trainer, judged as
  a trial;
- :mod:`~hpsearch.search.calibration.store`: the companion study ``<name>-calibration``;
- :mod:`~hpsearch.search.calibration.calibrating`: calibrating, reading a calibration, the
  ranges a study uses (``lr = "calibrated"``: the spec ``run`` trains with), the cost.

Part of the search layer, so that ``run`` can use the ranges; docs/search.md argues the rule.
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "calibrating": (
            "CalibrationCost",
            "CalibrationError",
            "calibrate",
            "calibrated_ranges",
            "calibrated_spec",
            "calibration_cost",
            "read_calibrated_spec",
            "read_calibration",
            "with_calibrated_ranges",
        ),
        "model": (
            "CalibratedRange",
            "Calibration",
            "Probe",
            "ProbeSettings",
        ),
        "store": ("calibration_name",),
    },
)
