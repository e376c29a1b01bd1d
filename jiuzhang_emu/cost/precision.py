"""Where the click chain rule leaves float64: the click count from which its
shots are redrawn in each higher precision tier.

The click sampler redraws a shot in long double or double-double (or, past
those, by the Python reference route) when its float64 error estimate
(condition x unit roundoff) breaks the budget, and the estimate grows
geometrically with the clicks.  The click count where each tier takes over is
measured on cheap runs of the first modes and extrapolated.
"""
import math

import numpy as np

from jiuzhang_emu.kernels import sample_clicks
from jiuzhang_emu.kernels.precision import SAMPLING_ATOL, TIERS, UNIT_ROUNDOFF

#: Expected clicks of the prefix runs that measure the condition growth.
_PREFIX_CLICKS = (4, 7, 10)
_CONDITION_GROWTH = {}


def escalating_clicks(experiment, tier, rng):
    """The click count from which the click sampler's error estimate
    exceeds the budget in ``tier``'s predecessor, i.e. shots are redrawn in
    ``tier`` ("reference": the Python route)."""
    a, b, d = condition_growth(experiment, rng)
    M = experiment.n_modes
    previous = TIERS[(*TIERS, "reference").index(tier) - 1]
    limit = math.log(SAMPLING_ATOL / UNIT_ROUNDOFF[previous])
    if b <= 0:
        return M + 1
    return int(np.clip(math.ceil((limit - a - d * M) / b), 0, M + 1))


def condition_growth(experiment, rng, shots=200):
    """(a, b, d) of log(condition) ~ a + b c + d m for c clicks in m modes.

    The condition grows geometrically with the clicks (roughly a factor
    (2 - p) / p per click of probability p) and, more slowly, with the modes.
    The chain rule at mode k sees only modes <= k, so cheap runs of the first
    m modes, with a few clicks expected, measure it; callers extrapolate to
    all modes.  Fitted once per experiment."""
    key = experiment.fingerprint()
    if key not in _CONDITION_GROWTH:
        G, v, block = experiment.vacuum_form()
        M = experiment.n_modes
        expected = np.cumsum(experiment.click_probabilities())
        rows, log_condition = [], []
        for clicks in _PREFIX_CLICKS:
            m = int(np.clip(np.searchsorted(expected, clicks), 2, M))
            dim = m * block
            c, condition = sample_clicks(
                G[:dim, :dim], None if v is None else v[:dim],
                block, rng.random((shots, m)), "double", 1)
            keep = np.isfinite(condition) & (condition > 0)
            rows += [[1.0, count, m] for count in c.sum(axis=1)[keep]]
            log_condition += list(np.log(condition[keep]))
        fit, *_ = np.linalg.lstsq(np.array(rows), np.array(log_condition), rcond=None)
        _CONDITION_GROWTH[key] = tuple(fit)
    return _CONDITION_GROWTH[key]
