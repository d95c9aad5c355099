"""One probe: an arm's centre spec trained once at a fixed learning rate, and judged as the
objective judges a trial.

The probe trains the study's own model on the study's own data, as a trial would
(``task.max_train_samples`` and the rest apply), with the study's schedule over the
probe's epochs (:func:`~hpsearch.search.calibration.arms.probe_spec`), and is evaluated
once at its end. Its verdict is the objective's: a loss that stopped being finite, or a
validation loss over 10× chance at the end (:func:`hpsearch.search.divergence.divergence`),
is **diverged**; a classifier that answered one class for every example
(:func:`hpsearch.search.divergence.one_class`) is **one class**; a regression head that
predicted one value for every example (:func:`hpsearch.search.divergence.constant`) is
**constant**; else it **learned**.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from hpsearch.data.encode import DataCache
from hpsearch.optim import get_optimizer
from hpsearch.search.calibration.arms import LR, centre_values, probe_id, probe_spec
from hpsearch.search.calibration.model import CalibrationArm, Probe, ProbeSettings, Verdict
from hpsearch.search.divergence import constant, divergence, one_class
from hpsearch.search.drift import trial_settings
from hpsearch.search.objective import release_memory, validation_loss
from hpsearch.spec.schema import Spec
from hpsearch.train.trainer import NonFiniteLossError, train


def run_probe(
    spec: Spec, arm: CalibrationArm, lr: float, settings: ProbeSettings, cache: DataCache
) -> Probe:
    """Run ``arm``'s probe of study ``spec`` at ``lr`` (its data from ``cache``)."""
    probed = probe_spec(spec, arm, settings, lr)
    data = cache.encoded_tasks(probed)
    tick = time.perf_counter()
    verdict: Verdict
    try:
        result = train(probed, data)
    except NonFiniteLossError as e:
        metric = loss = None
        verdict, why, steps = "diverged", f"diverged: {e}", e.steps
    else:
        metrics = result.metrics
        metric, loss = _finite(metrics[probed.metric]), _finite(validation_loss(probed, metrics))
        verdict, why = judge(metrics, loss, divergence(result.evals, data))
        steps = result.steps
    seconds = time.perf_counter() - tick
    release_memory()  # the next probe builds its model in the room this one held
    return Probe(
        arm=arm,
        lr=lr,
        settings=settings,
        verdict=verdict,
        metric_name=probed.metric,
        metric=metric,
        loss=loss,
        why=why,
        num_grads=_num_grads(probed),
        values={k: v for k, v in centre_values(spec, arm).items() if k != LR},
        steps=steps,
        seconds=seconds,
        spec_id=probe_id(probed, settings),
        ran_with=trial_settings(probed),
    )


def judge(
    metrics: Mapping[str, float], loss: float | None, diverged: str | None
) -> tuple[Verdict, str | None]:
    """A probe's verdict and why, from its last evaluation's ``metrics``, its validation
    ``loss`` (None where not finite) and :func:`~hpsearch.search.divergence.divergence`'s
    reason: diverged, then one class, then constant (a regression head that predicted one
    value: it walked the ladder as "learned" at Pearson 0 before), else learned."""
    if loss is None or diverged is not None:
        return "diverged", diverged or "diverged: the validation loss is not finite"
    if (flat := one_class(metrics)) is not None:
        return "one class", flat
    if (same := constant(metrics)) is not None:
        return "constant", same
    return "learned", None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _num_grads(probed: Spec) -> int | None:
    """The gradients M-FAC keeps in the probe; None for an optimizer without them."""
    default = get_optimizer(probed.optimizer.kind).hparams.get("num_grads")
    return None if default is None else int(probed.optimizer.hparams.get("num_grads", default))
