"""Torontonians of Jiuzhang 1.0 click patterns against mpmath reference values.

The matrices are O_S of the released Jiuzhang 1.0 model (transfer matrix and
squeezing of the USTC data release) for random click patterns S of 12, 16, 20
and 24 clicks; the references were computed by
scripts/make_torontonian_reference.py at 60 digits with mpmath (12-20 clicks)
and as a certified Arb enclosure of 200 bits (24 clicks).  The sums cancel by
10^12 to 10^21, so float64 loses from six digits to all of them (at 24 clicks
it is off by a factor 26); the double-double tier, and "auto", must not lose
any.
"""
import pathlib

import mpmath as mp
import numpy as np
import pytest

import jiuzhang_emu as je

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "torontonian_jiuzhang1_reference.npz"
REFERENCE = np.load(DATA)
CLICKS = [int(k) for k in REFERENCE["clicks"]]
#: 24 clicks take 2-4 s per test on two cores: slow.
CASES = [pytest.param(k, marks=pytest.mark.slow) if k >= 24 else k for k in CLICKS]


def relative_error(value, k):
    ref = mp.mpf(str(REFERENCE[f"tor_{k}"]))
    return float(abs((mp.mpf(value) - ref) / ref))


@pytest.mark.parametrize("k", CASES)
def test_double_double_keeps_all_digits(k):
    result = je.torontonian(REFERENCE[f"O_{k}"], precision="double-double", return_info=True)
    assert result.precision == "double-double"
    assert relative_error(result.value, k) < 1e-13


@pytest.mark.parametrize("k", CASES)
def test_auto_escalates_and_keeps_all_digits(k):
    result = je.torontonian(REFERENCE[f"O_{k}"], precision="auto", return_info=True)
    assert result.precision == "double-double"
    assert result.condition > 1e12
    assert relative_error(result.value, k) < 1e-13


@pytest.mark.parametrize("k", CASES)
def test_tiers_rank_by_accuracy(k):
    """float64 loses digits here (the reason for the tiers); long double fewer."""
    O = REFERENCE[f"O_{k}"]
    err_double = relative_error(je.torontonian(O, precision="double"), k)
    err_extended = relative_error(je.torontonian(O, precision="extended"), k)
    assert err_double > 1e-9
    assert err_extended < err_double


@pytest.mark.parametrize("k", CASES)
def test_error_estimate_bounds_the_error(k):
    """The reported error estimate is an upper bound up to a small factor."""
    O = REFERENCE[f"O_{k}"]
    for tier in ("double", "extended"):
        result = je.torontonian(O, precision=tier, return_info=True)
        assert relative_error(result.value, k) < 10 * result.error_estimate


def test_batch_double_double_matches_single():
    k = CLICKS[0]
    O = REFERENCE[f"O_{k}"]
    batch = je.torontonian_batch(np.stack([O, O]), precision="double-double")
    assert batch[0] == batch[1] == je.torontonian(O, precision="double-double")
