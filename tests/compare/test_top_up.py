"""The top-up's arithmetic: the goal every arm spends, and the trials an arm runs next."""

from __future__ import annotations

import pytest

from hpsearch.compare.top_up import ArmSpend, goal, more_trials


def test_the_goal_is_the_most_any_arm_spent_on_its_first_n_trials():
    adam = ArmSpend("adam", 2, (10.0, 10.0, 10.0, 10.0, 10.0))  # topped up: 50 s
    # A second worker ran M-FAC a trial past its budget of 2: the goal stays 80 s, so AdamW
    # (50 s) runs on towards 80, and M-FAC is never asked to catch up with AdamW in turn.
    mfac = ArmSpend("mfac", 2, (40.0, 40.0, 40.0))
    assert goal([adam, mfac]) == 80.0
    assert more_trials(adam, 80.0) == 3  # 30 s short, 10 s a trial
    assert more_trials(mfac, 80.0) == 0
    caught_up = ArmSpend("adam", 2, (10.0,) * 8)
    assert goal([caught_up, mfac]) == 80.0 and more_trials(caught_up, 80.0) == 0


def test_an_arm_short_by_less_than_a_trial_runs_one_more():
    assert more_trials(ArmSpend("adam", 2, (30.0, 30.0)), 61.0) == 1


def test_an_arm_without_a_finished_trial_has_no_estimate():
    with pytest.raises(ValueError, match="study 'adam' has no finished trial"):
        more_trials(ArmSpend("adam", 2, ()), 10.0)
