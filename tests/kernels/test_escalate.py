"""The one precision ladder (jiuzhang_emu.kernels.precision.escalate): each
item goes to the cheapest tier whose predicted error meets the budget, runs
there once, climbs on only while it stays short, and a result beyond the
trusted bound is never escalated."""
import numpy as np
import pytest

from jiuzhang_emu.kernels.precision import UNIT_ROUNDOFF, cheapest_tier, escalate

U = UNIT_ROUNDOFF
BUDGET = 1e-8
pytestmark = pytest.mark.skipif(not U["double"] > U["extended"] > U["double-double"],
                                reason="long double is no wider than double here")


def _ladder(conditions):
    """A run whose condition per tier is conditions[tier][item] (default:
    the same in every tier) and whose output records the tier; and its calls."""
    calls = []

    def run(tier, index):
        calls.append((tier, None if index is None else list(index)))
        items = np.arange(len(conditions["double"])) if index is None else index
        cond = np.asarray(conditions.get(tier, conditions["double"]))[items]
        return cond, np.full(len(items), tier, dtype="U13"), items * 10

    return run, calls


def _meets(tier):
    """A condition that tier meets and every cheaper one misses."""
    return 0.5 * BUDGET / U[tier]


def test_each_item_runs_in_the_cheapest_sufficient_tier_once():
    cond = [1.0, _meets("extended"), _meets("double-double"), 1e300]
    run, calls = _ladder({"double": cond})
    result = escalate(run, 4, BUDGET)
    assert calls == [("double", None), ("extended", [1]), ("double-double", [2, 3])]
    assert list(result.tiers) == ["double", "extended", "double-double", "double-double"]
    assert list(result.outputs[0]) == list(result.tiers)  # outputs come from that tier
    assert list(result.outputs[1]) == [0, 10, 20, 30]
    np.testing.assert_array_equal(result.error_estimate,
                                  np.array(cond) * [U[t] for t in result.tiers])
    assert list(result.error_estimate > BUDGET) == [False, False, False, True]


def test_an_item_still_short_climbs_on():
    """The condition is predicted from the first tier; where the next tier
    sees a worse one, the item goes on to the tier that should meet that."""
    cond = [_meets("extended"), _meets("extended")]
    run, calls = _ladder({"double": cond, "extended": [cond[0], 1e6 * cond[1]]})
    result = escalate(run, 2, BUDGET)
    assert calls == [("double", None), ("extended", [0, 1]), ("double-double", [1])]
    assert list(result.tiers) == ["extended", "double-double"]


def test_an_untrusted_estimate_is_not_escalated():
    run, calls = _ladder({"double": [1.0, 1e3 / U["double"]]})
    result = escalate(run, 2, BUDGET, trusted=1e-3 / 2)
    assert calls == [("double", None)]
    assert list(result.tiers) == ["double", "double"]
    assert result.error_estimate[1] > BUDGET


def test_one_tier_only_runs_once():
    run, calls = _ladder({"double": [1e300, 1.0]})
    result = escalate(run, 2, BUDGET, tiers=("extended",))
    assert calls == [("extended", None)]
    assert list(result.tiers) == ["extended", "extended"]


def test_no_items():
    run, calls = _ladder({"double": np.zeros(0)})
    result = escalate(run, 0, BUDGET)
    assert result.tiers.shape == result.condition.shape == (0,)


def test_cheapest_tier_elementwise_and_scalar():
    cond = np.array([1.0, _meets("extended"), _meets("double-double"), np.inf])
    assert list(cheapest_tier(cond, BUDGET)) == [0, 1, 2, 2]
    assert cheapest_tier(1.0, BUDGET) == 0
    assert cheapest_tier(0.0, 0.0) == 0  # an exact result meets any budget
