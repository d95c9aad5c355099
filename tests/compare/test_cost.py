"""Cost: time-to-target on a known series of evaluations, the median over seeds, and where
the runs trained."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from hpsearch.compare.cost import arm_cost, time_to_target
from hpsearch.compare.model import EvalPoint, RunCost, SeedRun
from hpsearch.compare.tables import hardware_note


def run_with(seed: int, values: list[float]) -> SeedRun:
    evals = tuple(
        EvalPoint(step=10 * (i + 1), train_seconds=2.5 * (i + 1), value=v)
        for i, v in enumerate(values)
    )
    cost = RunCost(20, 5.0, 0.25, 128.0, 9.0, 800, 10**9, "CUDA max allocated", "cuda", "bf16")
    return SeedRun(seed, seed, max(values), {"f1": max(values)}, evals, cost)


def test_time_to_target_from_a_known_series():
    evals = run_with(0, [0.3, 0.6, 0.8, 0.7]).evals
    reached = time_to_target(0, evals, 0.6)
    assert (reached.seconds, reached.steps) == (5.0, 20)  # the first evaluation at 0.6
    never = time_to_target(0, evals, 0.9)
    assert (never.seconds, never.steps) == (None, None)
    assert time_to_target(0, evals, 0.3, maximize=False).steps == 10  # a loss: at or below

    # The median over seeds counts a run that never reached it as infinitely slow.
    runs = [run_with(0, [0.7, 0.9]), run_with(1, [0.5, 0.6]), run_with(2, [0.9, 0.9])]
    cost = arm_cost("AdamW", runs, 0.85)
    assert [t.steps for t in cost.to_target] == [20, None, 10]
    assert (cost.target_steps, cost.target_seconds, cost.reached) == (20, 5.0, 2)
    slow = arm_cost("AdamW", runs[:2], 0.85)  # one of two never: the median is infinite
    assert (slow.target_steps, slow.target_seconds, slow.reached) == (None, None, 1)
    assert cost.seconds_per_step == 0.25 and cost.optimizer_state_bytes == 800


def test_the_cost_says_where_the_runs_trained_and_the_page_warns_when_arms_differ():
    fp32 = RunCost(20, 5.0, 0.25, 128.0, 9.0, 800, None, "peak RSS", "cpu", "fp32")
    old = RunCost(20, 5.0, 0.25, 128.0, 9.0, 800, None, "peak RSS", None)  # kept neither

    def arm(name: str, *costs: RunCost):
        runs = [replace(run_with(i, [0.5]), cost=c) for i, c in enumerate(costs)]
        return arm_cost(name, runs, 0.85)

    gpu = arm("M-FAC", *[run_with(i, [0.5]).cost for i in range(2)])
    cpu = arm("AdamW", fp32, fp32)
    mixed = arm("AdamW", fp32, replace(fp32, precision="bf16"), old)
    assert (gpu.ran_on, cpu.ran_on) == (("cuda, bf16",), ("cpu, fp32",))
    assert mixed.ran_on == ("cpu, bf16", "cpu, fp32", "not recorded")
    assert hardware_note(SimpleNamespace(costs=(cpu, cpu))) is None
    assert hardware_note(SimpleNamespace(costs=(cpu, arm("old", old)))) is None  # unknown
    for costs in ((gpu, cpu), (mixed,)):
        assert "different devices or precisions" in hardware_note(SimpleNamespace(costs=costs))
