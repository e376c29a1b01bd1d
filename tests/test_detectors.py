"""Detector models: exact probabilities of small random lossy experiments
against thewalrus and against each other (threshold and pseudo-PNR are
coarse-grained PNR), dark counts against brute-force mixtures.

Truncated PNR sums: when a threshold or pseudo-PNR probability is compared
with a sum of PNR probabilities over patterns with at most ``cutoff`` photons
in total, every missing term is non-negative and the missing terms add up to
at most ``leftover`` = 1 - (sum of all PNR probabilities kept), so
0 <= exact - truncated <= leftover (plus rounding).  The tests assert
exactly that, and that the leftover is small.
"""
import itertools
from math import comb

import numpy as np
import pytest
from thewalrus import threshold_detection_prob
from thewalrus.quantum import density_matrix_element
from thewalrus.symplectic import passive_transformation

import jiuzhang_emu as jz
from jiuzhang_emu.detectors import coarse_grain_probability
from jiuzhang_emu.errors import InputError

TOL = 1e-12

# Loops over hundreds of small patterns use one thread: the kernels' default
# (all cores) costs ~20 ms per call on a busy 2-core machine.
ONE = {"n_threads": 1}

# (n_modes, seed, displaced, lossy, thermal): pure (lossless, no thermal
# fraction) and mixed, with and without displacement
CASES = [
    pytest.param(3, 1, False, False, False, id="pure-3"),
    pytest.param(4, 2, True, False, False, id="pure-displaced-4"),
    pytest.param(4, 3, False, True, True, id="mixed-4"),
    pytest.param(5, 4, True, True, True, id="mixed-displaced-5"),
]


def _patterns(n_modes, max_total):
    """All PNR patterns with at most ``max_total`` photons."""
    return [n for n in itertools.product(range(max_total + 1), repeat=n_modes)
            if sum(n) <= max_total]


def _thewalrus_output(exp):
    """(mu, cov) at the detectors computed with thewalrus alone from the
    experiment's input state, transfer matrix and (unit) efficiency."""
    s = exp.input_state()
    return passive_transformation(s.means, s.cov, exp.transfer_matrix.T)


def _without_dark_counts(exp, detector):
    return jz.Experiment(exp.sources, exp.transfer_matrix, detector)


# --- against thewalrus -----------------------------------------------------------

@pytest.mark.parametrize("n_modes, seed, displaced, lossy, thermal", CASES)
def test_pnr_matches_thewalrus(n_modes, seed, displaced, lossy, thermal, random_experiment):
    exp = random_experiment(n_modes, seed, jz.PhotonNumberResolving(),
                            displaced=displaced, lossy=lossy, thermal=thermal)
    assert exp.output_state().is_pure() == (not lossy and not thermal)
    assert exp.output_state().is_displaced() == displaced
    mu, cov = _thewalrus_output(exp)
    patterns = _patterns(n_modes, 3) + [(2,) * n_modes, (3, 1) + (0,) * (n_modes - 2)]
    worst = 0.0
    for n in patterns:
        want = density_matrix_element(mu, cov, list(n), list(n))
        assert abs(want.imag) < TOL
        got = exp.probability(n, **ONE)
        worst = max(worst, abs(got - want.real))
    assert worst < TOL


@pytest.mark.slow  # thewalrus's torontonians take ~13 s of numba compilation
@pytest.mark.parametrize("n_modes, seed, displaced, lossy, thermal", CASES)
def test_threshold_matches_thewalrus(n_modes, seed, displaced, lossy, thermal,
                                     random_experiment):
    exp = random_experiment(n_modes, seed, jz.Threshold(),
                            displaced=displaced, lossy=lossy, thermal=thermal)
    mu, cov = _thewalrus_output(exp)
    worst = 0.0
    for pattern in itertools.product((0, 1), repeat=n_modes):
        want = threshold_detection_prob(mu, cov, np.array(pattern))
        worst = max(worst, abs(exp.probability(pattern) - np.real(want)))
    assert worst < TOL


@pytest.mark.slow  # shares the numba compilation of the test above
@pytest.mark.parametrize("n_modes, k, seed, displaced", [
    (3, 2, 5, False), (3, 2, 6, True), (2, 3, 7, True),
])
def test_pseudo_pnr_matches_thewalrus_split_modes(n_modes, k, seed, displaced,
                                                  random_experiment):
    """Independent oracle: split each output mode over k sub-modes with
    thewalrus (transfer columns 1/sqrt(k)), sum thewalrus's threshold
    probabilities over the sub-detector patterns with c_j clicks in group j."""
    exp = random_experiment(n_modes, seed, jz.PseudoPNR(n_detectors=k), displaced=displaced)
    mu, cov = _thewalrus_output(exp)
    split = np.zeros((n_modes, n_modes * k))
    for j in range(n_modes):
        split[j, j * k:(j + 1) * k] = 1 / np.sqrt(k)
    mu, cov = passive_transformation(mu, cov, split.T)
    want = {}
    for sub in itertools.product((0, 1), repeat=n_modes * k):
        c = tuple(int(sum(sub[j * k:(j + 1) * k])) for j in range(n_modes))
        want[c] = want.get(c, 0.0) + np.real(threshold_detection_prob(mu, cov, np.array(sub)))
    worst = max(abs(exp.probability(c, **ONE) - p) for c, p in want.items())
    assert worst < TOL


# --- normalisation ---------------------------------------------------------------

@pytest.mark.parametrize("displaced", [False, True])
@pytest.mark.parametrize("dark_count", [0.0, [0.01, 0.2, 0.0, 0.05, 0.5]])
def test_threshold_probabilities_sum_to_one(displaced, dark_count, random_experiment):
    exp = random_experiment(5, 10, jz.Threshold(dark_count=dark_count), displaced=displaced)
    probs = [exp.probability(p, **ONE) for p in itertools.product((0, 1), repeat=5)]
    assert min(probs) >= -TOL
    assert abs(sum(probs) - 1) < TOL


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("displaced", [False, True])
@pytest.mark.parametrize("dark_count", [0.0, [0.02, 0.3, 0.0]])
def test_pseudo_pnr_probabilities_sum_to_one(k, displaced, dark_count, random_experiment):
    exp = random_experiment(3, 11, jz.PseudoPNR(dark_count=dark_count, n_detectors=k),
                            displaced=displaced)
    probs = [exp.probability(c, **ONE) for c in itertools.product(range(k + 1), repeat=3)]
    assert min(probs) >= -TOL
    assert abs(sum(probs) - 1) < TOL


# --- coarse graining -------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_coarse_grain_sums_to_one(k):
    for n in range(10):
        total = sum(coarse_grain_probability(n, c, k) for c in range(k + 1))
        assert abs(total - 1) < 1e-14
        # more clicks than photons or detectors is impossible
        assert coarse_grain_probability(n, min(n, k) + 1, k) == 0


@pytest.mark.parametrize("n, k", [(0, 3), (1, 2), (3, 3), (4, 2), (5, 3), (6, 4)])
def test_coarse_grain_matches_enumeration(n, k):
    """n distinguishable photons each into one of k detectors uniformly."""
    counts = np.zeros(k + 1)
    for bins in itertools.product(range(k), repeat=n):
        counts[len(set(bins))] += 1
    for c in range(k + 1):
        assert abs(coarse_grain_probability(n, c, k) - counts[c] / k ** n) < 1e-15


def test_coarse_grain_threshold_case():
    assert coarse_grain_probability(0, 0, 1) == 1
    for n in range(1, 6):
        assert coarse_grain_probability(n, 1, 1) == 1
        assert coarse_grain_probability(n, 0, 1) == 0


# --- threshold and pseudo-PNR are coarse-grained PNR ------------------------------

MARGINAL_CASES = [
    pytest.param(False, id="mixed"),
    pytest.param(True, id="mixed-displaced"),
]


def _pnr_table(exp, max_total):
    """{pattern: PNR probability} over patterns with <= max_total photons,
    and the leftover mass 1 - sum."""
    pnr = jz.Experiment(exp.sources, exp.transfer_matrix, jz.PhotonNumberResolving())
    table = {n: pnr.probability(n, **ONE) for n in _patterns(pnr.n_modes, max_total)}
    return table, 1 - sum(table.values())


@pytest.mark.parametrize("displaced", MARGINAL_CASES)
def test_threshold_is_marginalised_pnr(displaced, random_experiment):
    exp = random_experiment(3, 21, jz.Threshold(), displaced=displaced, r_max=0.45)
    assert exp.output_state().is_displaced() == displaced
    table, leftover = _pnr_table(exp, 12)
    assert 0 <= leftover < 1e-6
    for pattern in itertools.product((0, 1), repeat=3):
        truncated = sum(p for n, p in table.items()
                        if tuple(int(x > 0) for x in n) == pattern)
        gap = exp.probability(pattern, **ONE) - truncated
        assert -TOL <= gap <= leftover + TOL


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("displaced", MARGINAL_CASES)
def test_pseudo_pnr_is_marginalised_pnr(k, displaced, random_experiment):
    exp = random_experiment(3, 22, jz.PseudoPNR(n_detectors=k), displaced=displaced,
                            r_max=0.45)
    assert exp.output_state().is_displaced() == displaced
    table, leftover = _pnr_table(exp, 12)
    assert 0 <= leftover < 1e-6
    for c in itertools.product(range(k + 1), repeat=3):
        truncated = sum(p * np.prod([coarse_grain_probability(nj, cj, k)
                                     for nj, cj in zip(n, c)])
                        for n, p in table.items())
        gap = exp.probability(c, **ONE) - truncated
        assert -TOL <= gap <= leftover + TOL


def test_pseudo_pnr_with_one_detector_is_threshold(random_experiment):
    exp = random_experiment(4, 23, jz.PseudoPNR(n_detectors=1, dark_count=0.1),
                            displaced=True)
    thr = jz.Experiment(exp.sources, exp.transfer_matrix, jz.Threshold(dark_count=0.1))
    for pattern in itertools.product((0, 1), repeat=4):
        assert abs(exp.probability(pattern) - thr.probability(pattern)) < TOL


# --- dark counts -----------------------------------------------------------------

DARK = np.array([0.05, 0.3, 0.0, 0.12])


@pytest.mark.parametrize("displaced", [False, True])
def test_threshold_dark_counts_are_a_mixture(displaced, random_experiment):
    """The observed clicks S are the union of light clicks Z and dark clicks,
    independent: P_obs(S) = sum_{Z subset S} P_light(Z)
    prod_{j in S \\ Z} d_j prod_{j not in S} (1 - d_j)."""
    exp = random_experiment(4, 31, jz.Threshold(dark_count=DARK), displaced=displaced)
    light = _without_dark_counts(exp, jz.Threshold())
    p_light = {z: light.probability(z, **ONE) for z in itertools.product((0, 1), repeat=4)}
    for S in itertools.product((0, 1), repeat=4):
        want = 0.0
        for Z, p in p_light.items():
            if all(z <= s for z, s in zip(Z, S)):
                weight = np.prod([DARK[j] if S[j] and not Z[j] else
                                  (1 - DARK[j]) if not S[j] else 1.0 for j in range(4)])
                want += p * weight
        assert abs(exp.probability(S, **ONE) - want) < TOL


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("displaced", [False, True])
def test_pseudo_pnr_dark_counts_are_a_mixture(k, displaced, random_experiment):
    """Each of the k sub-detectors of mode j fires in the dark with
    probability d_j, independently: of the k - c' sub-detectors the light
    left dark, Binomial(k - c', d_j) more click, so
    P_obs(c) = sum_{c' <= c} P_light(c') prod_j C(k - c'_j, c_j - c'_j)
    d_j^(c_j - c'_j) (1 - d_j)^(k - c_j)."""
    dark = DARK[:3]
    exp = random_experiment(3, 32, jz.PseudoPNR(dark_count=dark, n_detectors=k),
                            displaced=displaced)
    light = _without_dark_counts(exp, jz.PseudoPNR(n_detectors=k))
    space = list(itertools.product(range(k + 1), repeat=3))
    p_light = {c: light.probability(c, **ONE) for c in space}
    for c in space:
        want = 0.0
        for cl, p in p_light.items():
            if all(a <= b for a, b in zip(cl, c)):
                want += p * np.prod([comb(k - a, b - a) * dark[j] ** (b - a)
                                     * (1 - dark[j]) ** (k - b)
                                     for j, (a, b) in enumerate(zip(cl, c))])
        assert abs(exp.probability(c, **ONE) - want) < TOL


@pytest.mark.parametrize("displaced", [False, True])
def test_pnr_dark_counts(displaced, random_experiment):
    """A dark count adds one count with probability d_j: a mixture over the
    dark set D, and the probabilities still sum to ~1 (the leftover of the
    truncation bounds the shortfall)."""
    dark = DARK[:3]
    exp = random_experiment(3, 33, jz.PhotonNumberResolving(dark_count=dark),
                            displaced=displaced, r_max=0.35)
    light = _without_dark_counts(exp, jz.PhotonNumberResolving())
    cutoff = 11
    patterns = _patterns(3, cutoff)
    p_light = {n: light.probability(n, **ONE) for n in patterns}
    # light patterns with <= cutoff - 3 photons lead to observed patterns
    # with <= cutoff counts whatever the dark counts add
    light_leftover = 1 - sum(p for n, p in p_light.items() if sum(n) <= cutoff - 3)
    assert 0 <= light_leftover < 1e-6
    total = 0.0
    for n in patterns:
        got = exp.probability(n, **ONE)
        total += got
        if sum(n) > 6:
            continue
        want = 0.0
        for D in itertools.product((0, 1), repeat=3):
            shifted = tuple(a - b for a, b in zip(n, D))
            if min(shifted) < 0:
                continue
            want += p_light[shifted] * np.prod(
                [dark[j] if D[j] else 1 - dark[j] for j in range(3)])
        assert abs(got - want) < TOL
    # the observed mass missing above the cutoff is at most the light mass
    # above cutoff - 3
    assert -TOL <= 1 - total <= light_leftover + TOL


# --- detector construction -----------------------------------------------------------

@pytest.mark.parametrize("cls", [jz.PhotonNumberResolving, jz.Threshold, jz.PseudoPNR])
@pytest.mark.parametrize("kwargs, name", [
    ({"efficiency": 1.5}, "efficiency"),
    ({"efficiency": -0.2}, "efficiency"),
    ({"efficiency": np.nan}, "efficiency"),
    ({"efficiency": [[0.5]]}, "efficiency"),
    ({"dark_count": -0.1}, "dark_count"),
    ({"dark_count": [0.1, 1.1]}, "dark_count"),
])
def test_detector_rejects_bad_parameters(cls, kwargs, name):
    with pytest.raises(InputError, match=name):
        cls(**kwargs)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "2"])
def test_pseudo_pnr_rejects_bad_n_detectors(k):
    with pytest.raises(InputError, match="n_detectors"):
        jz.PseudoPNR(n_detectors=k)


@pytest.mark.statistical
def test_dark_factors_are_the_no_dark_count_probabilities(any_seed):
    """g_j = P(no detector of mode j fires dark): 1 - d_j, (1 - d_j)^k for
    k pseudo-PNR detectors; checked against the detectors' own draws of
    vacuum (photons 0) over every mode."""
    dark = np.array([0.0, 0.1, 0.3])
    for detector, want in [(jz.Threshold(dark_count=dark), 1 - dark),
                           (jz.PhotonNumberResolving(dark_count=dark), 1 - dark),
                           (jz.PseudoPNR(n_detectors=3, dark_count=dark), (1 - dark) ** 3)]:
        np.testing.assert_array_equal(detector.dark_factors(3), want)
        silent = detector.detect(np.zeros((200_000, 3), dtype=np.int64), dark,
                                 np.random.default_rng(any_seed(1))) == 0
        # binomial standard error <= 0.0012: 5 of them (false alarm < 1e-6 each)
        np.testing.assert_allclose(silent.mean(axis=0), want, atol=0.006)


def test_probability_engine_rejects_an_unknown_detector():
    from jiuzhang_emu.detectors import Detector
    from jiuzhang_emu.probabilities import detection_probability

    state = jz.GaussianState.vacuum(1)
    with pytest.raises(InputError, match="detector must be"):
        detection_probability(state, Detector(), np.array([0]), np.zeros(1))
