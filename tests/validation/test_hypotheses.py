"""Likelihood ratios, cross-entropy and HOG scores, subset TVD.

Randomised checks use fixed seeds; a sampled mean is compared with its exact
expectation within Z_MAX = 4.5 standard errors (~7e-6 two-sided).  A subset
TVD is compared with the resampled TVD of an exact sampler within
TVD_SPREADS = 6 spreads: the TVD's sampling distribution is right-skewed, so
mean + 4.5 spreads is exceeded with probability 1e-4 to 3e-4 (simulated, 8
cells, 5,000 shots), mean + 6 spreads with < 1e-5 (< 5e-5 for 5 subsets)."""
import itertools

import numpy as np
import pytest

from jiuzhang_emu import InputError, presets
from jiuzhang_emu.validation import hypotheses as hy
from jiuzhang_emu.validation.adversary_table import adversary_table

Z_MAX = 4.5
TVD_SPREADS = 6


def _all_patterns(M):
    return np.array(list(itertools.product([0, 1], repeat=M)), dtype=np.uint8)


@pytest.mark.parametrize("detectors, hypothesis", [
    # pseudo-PNR probabilities of distinguishable light: ~15 s
    pytest.param(d, h, marks=pytest.mark.slow) if (d, h) == ("pseudo-pnr", "distinguishable")
    else (d, h) for d in ["threshold", "pseudo-pnr"] for h in hy.HYPOTHESES])
def test_every_hypothesis_is_a_distribution(detectors, hypothesis):
    experiment = presets.jiuzhang_like(4, r=0.9, transmission=0.5, detectors=detectors, rng=2)
    p = hy.PatternProbabilities(experiment, hypothesis)(_all_patterns(4))
    assert np.all(p >= 0) and p.sum() == pytest.approx(1, abs=1e-12)
    if hypothesis != "ideal":  # first moments matched to the ideal model's
        clicks = _all_patterns(4)
        ideal = hy.PatternProbabilities(experiment)(clicks)
        rates = p @ clicks
        if hypothesis == "uniform":
            assert rates == pytest.approx(np.full(4, np.mean(ideal @ clicks)), abs=1e-12)
        else:
            assert rates.sum() == pytest.approx((ideal @ clicks).sum(), rel=0.3)


def _exact_expectations(experiment):
    """Expected cross-entropy score and HOG of an exact sampler, by
    enumeration."""
    M = experiment.n_modes
    clicks = _all_patterns(M)
    p = hy.PatternProbabilities(experiment)(clicks)
    c = clicks.sum(axis=1, dtype=np.intp)  # numpy < 2: no bincount of uint64
    sector = np.bincount(c, weights=p)
    cross = float(np.sum(p * (np.log(p) - np.log(sector[c]))))
    heavy = np.zeros(len(p), bool)
    for k in range(M + 1):
        members = c == k
        heavy[members] = p[members] >= np.median(p[members])
    return cross, float(p[heavy].sum())


@pytest.mark.statistical
def test_scores_of_exact_samples_match_their_expectations(any_seed):
    experiment = presets.jiuzhang_like(6, r=1.0, transmission=0.5, rng=3)
    patterns = experiment.sample(20000, rng=any_seed(4)).patterns
    cross, hog = _exact_expectations(experiment)
    score = hy.cross_entropy_score(patterns, experiment)
    assert abs(score.mean - cross) < Z_MAX * score.standard_error
    heavy = hy.heavy_output_score(patterns, experiment)
    assert heavy.mean > 0.5 and abs(heavy.mean - hog) < Z_MAX * heavy.standard_error


@pytest.mark.statistical
def test_likelihood_ratio_favours_the_true_hypothesis(any_seed):
    experiment = presets.jiuzhang_like(6, r=1.0, transmission=0.5, rng=3)
    ideal = hy.PatternProbabilities(experiment)
    exact = experiment.sample(5000, rng=any_seed(5)).patterns
    thermal = experiment.sample(5000, rng=any_seed(5), method="thermal").patterns
    for_ideal = hy.likelihood_ratio_test(exact, experiment, "thermal", ideal=ideal)
    for_thermal = hy.likelihood_ratio_test(thermal, experiment, "thermal", ideal=ideal)
    assert for_ideal.posterior_ideal > 0.99 and for_thermal.posterior_ideal < 0.01
    # the mean log ratio of ideal samples estimates KL(ideal || thermal) > 0
    clicks = _all_patterns(6)
    p, q = ideal(clicks), hy.PatternProbabilities(experiment, "thermal")(clicks)
    kl = float(np.sum(p * np.log(p / q)))
    assert kl > 0 and abs(for_ideal.mean - kl) < Z_MAX * for_ideal.standard_error
    assert for_ideal.shots_used == 5000


@pytest.mark.statistical
def test_subset_distances_of_exact_samples_look_like_sampling_noise(any_seed):
    experiment = presets.jiuzhang_like(8, r=1.0, transmission=0.5, rng=6)
    patterns = experiment.sample(5000, rng=any_seed(7)).patterns
    for d in hy.subset_distances(patterns, experiment, subset_size=3, n_subsets=5, rng=any_seed(1)):
        assert d.distance < d.exact_sampler_distance + TVD_SPREADS * d.exact_sampler_spread
        assert len(d.modes) == 3


@pytest.mark.statistical
@pytest.mark.slow
def test_adversary_table_catches_the_thermal_imitation_and_passes_exact_samples(any_seed):
    experiment = presets.jiuzhang_like(8, r=1.2, transmission=0.5, rng=9)
    table = adversary_table(experiment, shots=4000, rng=any_seed(2),
                            samplers=("exact", "thermal", "uniform"))
    caught = table.caught()
    assert caught["exact"] == []
    assert {"click numbers", "likelihood ratio"} <= set(caught["thermal"])
    assert "likelihood ratio" in caught["uniform"]
    assert "| thermal |" in table.markdown()


@pytest.mark.parametrize("call, match", [
    (lambda e, p: hy.likelihood_ratio_test(p, e, "coherent"), "alternative"),
    (lambda e, p: hy.likelihood_ratio_test(p, e, "thermal", max_clicks=-1), "max_clicks"),
    (lambda e, p: hy.PatternProbabilities(e, "magic"), "hypothesis"),
    (lambda e, p: hy.subset_distances(p, e, subset_size=0), "subset_size"),
    (lambda e, p: hy.cross_entropy_score(p[:, :3], e), "modes"),
    (lambda e, p: hy.heavy_output_score(p, e, ideal=hy.PatternProbabilities(e, "thermal")),
     "ideal"),
])
def test_bad_input(call, match):
    experiment = presets.jiuzhang_like(4, rng=1)
    patterns = experiment.sample(50, rng=1).patterns
    with pytest.raises(InputError, match=match):
        call(experiment, patterns)


def test_hog_refuses_huge_sectors():
    experiment = presets.jiuzhang_like(30, r=1.5, transmission=0.9, rng=1)
    patterns = np.zeros((2, 30), int)
    patterns[:, :15] = 1
    with pytest.raises(InputError, match="HOG enumerates"):
        hy.heavy_output_score(patterns, experiment)


def test_probability_tests_need_click_models():
    with pytest.raises(InputError, match="threshold or pseudo-PNR"):
        hy.PatternProbabilities(presets.jiuzhang_like(4, detectors="pnr", rng=1))


@pytest.mark.slow
def test_adversaries_command():
    import io

    from jiuzhang_emu.cli import main

    out = io.StringIO()
    assert main(["adversaries", "--modes", "6", "--shots", "1500", "--seed", "1"], out=out) == 0
    text = out.getvalue()
    for name in ("exact", "thermal", "squashed", "coherent", "distinguishable", "uniform",
                 "greedy"):
        assert f"| {name} |" in text


def _clicks_from_vacuum_probabilities(experiment, clicks):
    """P(exactly the modes of ``clicks`` click), an oracle that shares no code
    with the torontonians: inclusion-exclusion over vacuum probabilities of
    the output state, P(S) = sum_{T subset S} (-1)^(|S| - |T|) P(modes outside
    T dark), with P(A dark) = prod_{j in A} (1 - d_j) 2^n exp(-mu^T W^-1 mu / 2)
    / sqrt(det W), W = V + I over all internal copies of A (xxpp, hbar = 2)."""
    state = experiment.output_state()
    M, n_all = experiment.n_modes, state.n_modes
    g = 1 - experiment.detector.dark_counts(M)
    S = np.flatnonzero(clicks)
    total = 0.0
    for size in range(len(S) + 1):
        for T in itertools.combinations(S, size):
            dark = np.setdiff1d(np.arange(M), T)
            modes = (dark[None, :] + M * np.arange(n_all // M)[:, None]).ravel()
            idx = np.concatenate([modes, modes + n_all])
            W = state.cov[np.ix_(idx, idx)] + np.eye(len(idx))
            mu = state.means[idx]
            vacuum = 2.0 ** len(modes) / np.sqrt(np.linalg.det(W)) \
                * np.exp(-mu @ np.linalg.solve(W, mu) / 2)
            total += (-1) ** (len(S) - size) * np.prod(g[dark]) * vacuum
    return total


def test_native_pattern_probabilities_equal_the_model(monkeypatch):
    """The chain rule along a given pattern (dark counts, displacement,
    partly distinguishable light) against Experiment.probability; with an
    error budget no tier meets, every pattern falls back to the latter.  The
    model's probabilities themselves against an independent oracle (vacuum
    probabilities by inclusion-exclusion)."""
    from jiuzhang_emu import (Coherent, Experiment, SingleModeSqueezer, Threshold,
                              TwoModeSqueezer, haar_unitary)

    experiment = Experiment(
        [TwoModeSqueezer(0.9, thermal_fraction=0.2), Coherent(0.5j),
         SingleModeSqueezer(0.7, indistinguishability=0.4)],
        haar_unitary(4, rng=2).T * 0.7, Threshold(dark_count=[0.03, 0.0, 0.1, 0.02]))
    clicks = _all_patterns(4)
    expected = np.array([experiment.probability(row) for row in clicks])
    oracle = [_clicks_from_vacuum_probabilities(experiment, row) for row in clicks]
    np.testing.assert_allclose(expected, oracle, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(hy.PatternProbabilities(experiment)(clicks), expected,
                               rtol=1e-12)
    monkeypatch.setattr(hy, "PROBABILITY_RTOL", 0.0)
    np.testing.assert_allclose(hy.PatternProbabilities(experiment)(clicks), expected,
                               rtol=1e-14)
