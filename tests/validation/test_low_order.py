"""validation.low_order: streaming statistics equal the in-memory ones, model
pair cumulants by blocks equal those by pairs, the memory budget refuses
before any work, and the streamed report and ``validate`` at Jiuzhang 4.0
shapes (52 modes here; the full 8176 in a slow test)."""
import io
from itertools import combinations

import numpy as np
import pytest

from jiuzhang_emu import InputError, presets, validation
from jiuzhang_emu.cli import main
from jiuzhang_emu.validation import low_order, report, statistics
from jiuzhang_emu.validation.click_numbers import ClickNumberDistribution
from jiuzhang_emu.validation.report import write_report

CHUNKINGS = [[1000], [1] * 7 + [993], [333, 1, 0, 500, 166], [4096]]


@pytest.fixture(scope="module")
def small():
    """A 10-mode model and 1000 correlated patterns (not from the model:
    the equalities below hold for any data)."""
    experiment = presets.jiuzhang_like(10, r=1.0, transmission=0.5, rng=4)
    rng = np.random.default_rng(7)
    shared = rng.random((1000, 1)) < 0.3
    clicks = (rng.random((1000, 10)) < experiment.click_probabilities()) | (
        shared & (rng.random((1000, 10)) < 0.4))
    return experiment, clicks.astype(np.uint8)


@pytest.fixture(scope="module")
def reduced4():
    return presets.jiuzhang4(spatial_modes=2, cube_side=3)


def _split(patterns, sizes):
    edges = np.cumsum([0] + sizes)
    return [patterns[a:b] for a, b in zip(edges[:-1], edges[1:]) if a < len(patterns)]


@pytest.mark.parametrize("sizes", CHUNKINGS)
def test_streaming_equals_in_memory(small, sizes):
    experiment, patterns = small
    triples = low_order.random_triples(10, 30, rng=1)
    stat = low_order.stream_statistics(iter(_split(patterns, sizes)), 10, max_count=1,
                                       triples=triples, groups=[[0, 1, 2], [5, 6]])
    assert stat.shots == 1000
    np.testing.assert_array_equal(stat.click_counts, patterns.sum(axis=0))
    np.testing.assert_array_equal(stat.coclicks, patterns.T.astype(float) @ patterns)
    pairs, estimate, _ = statistics.sample_click_correlators(patterns, 2)
    np.testing.assert_array_equal(stat.pair_cumulants(pairs), estimate)  # same arithmetic
    _, third, _ = statistics.sample_click_correlators(patterns, 3, subsets=triples)
    np.testing.assert_array_equal(stat.triple_cumulants(), third)
    np.testing.assert_allclose(stat.covariance_block(0, 10),
                               np.cov(patterns, rowvar=False, bias=True), atol=1e-15)
    summary = statistics.click_rate_summary(patterns, experiment)
    np.testing.assert_array_equal(stat.rates, summary.rates)
    mean, error = stat.mean_clicks()
    assert mean == pytest.approx(summary.mean_clicks, rel=1e-14)
    assert error == pytest.approx(summary.mean_clicks_error, rel=1e-10)
    np.testing.assert_array_equal(  # (intp: numpy < 2 refuses bincount of a uint64 sum)
        stat.histogram, np.bincount(patterns.sum(axis=1, dtype=np.intp), minlength=11))
    grouped = np.zeros((4, 3), dtype=int)
    np.add.at(grouped, (patterns[:, :3].sum(axis=1), patterns[:, 5:7].sum(axis=1)), 1)
    np.testing.assert_array_equal(stat.grouped_counts, grouped)


def test_counts_are_clicks_and_kept_patterns(small):
    """Pseudo-PNR counts give clicks (count > 0); patterns with few clicks
    are kept as given, up to keep_shots."""
    _, patterns = small
    counts = patterns * np.random.default_rng(2).integers(1, 4, patterns.shape)
    stat = low_order.stream_statistics([counts[:10], counts[10:]], keep_clicks=2, keep_shots=5,
                                       detector_kind="pseudo-pnr")
    np.testing.assert_array_equal(stat.click_counts, patterns.sum(axis=0))
    assert stat.detector_clicks == counts.sum()
    low = counts[(patterns.sum(axis=1) <= 2)][:5]
    np.testing.assert_array_equal(stat.kept, low)
    with pytest.raises(InputError, match="0/1"):
        low_order.stream_statistics([counts], max_count=1)


def test_width_and_empty_streams_are_refused(small):
    _, patterns = small
    with pytest.raises(InputError, match="chunk 1.* 9 modes, the model has 10"):
        low_order.stream_statistics([patterns, patterns[:, :9]], 10)
    with pytest.raises(InputError, match="no non-empty chunk"):
        low_order.stream_statistics(iter([]), 10)


def test_model_pair_cumulants_by_blocks_equal_by_pairs(reduced4):
    rates, matrix = low_order.pair_cumulant_matrix(reduced4, block_rows=7)
    pairs, by_pairs = statistics.click_correlators(reduced4, 2)
    np.testing.assert_allclose(matrix[pairs[:, 0], pairs[:, 1]], by_pairs, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(matrix, matrix.T)
    np.testing.assert_allclose(np.diag(matrix), rates * (1 - rates), atol=1e-15)
    _, reference = statistics.click_moments_of(reduced4)
    np.testing.assert_allclose(matrix, reference, atol=1e-13)


def test_model_triples_and_their_variance(reduced4):
    triples = low_order.random_triples(reduced4.n_modes, 40, rng=5)
    assert len({tuple(t) for t in triples}) == 40
    _, cumulants, variances = low_order.triple_statistics(reduced4, triples)
    _, reference = statistics.click_correlators(reduced4, 3, subsets=triples)
    np.testing.assert_allclose(cumulants, reference, rtol=0, atol=1e-14)
    assert np.all(variances > 0)


def test_triple_variance_is_that_of_the_influence_function():
    """On any 3-bit law (here an empirical one), Var[h] from the moments
    equals the variance of h computed shot by shot."""
    rng = np.random.default_rng(3)
    x = (rng.random((5000, 3)) < [0.2, 0.5, 0.7]) | (rng.random((5000, 1)) < 0.2)
    moments = {s: x[:, list(s)].all(axis=1).mean() for k in (1, 2, 3)
               for s in combinations(range(3), k)}
    d = x - x.mean(axis=0)
    cov = np.cov(x, rowvar=False, bias=True)
    h = d[:, 0] * d[:, 1] * d[:, 2] - cov[1, 2] * d[:, 0] - cov[0, 2] * d[:, 1] \
        - cov[0, 1] * d[:, 2]
    assert low_order._triple_variance(moments) == pytest.approx(h.var(), rel=1e-9)


def test_pair_comparison_figures(small):
    experiment, patterns = small
    rates, matrix = low_order.pair_cumulant_matrix(experiment)
    stat = low_order.stream_statistics([patterns[:400], patterns[400:]])
    comparison = low_order.compare_pairs(rates, matrix, stat, block_rows=3)
    pairs, model = statistics.click_correlators(experiment, 2)
    _, sample, _ = statistics.sample_click_correlators(patterns, 2)
    variance = statistics.pair_covariance_variance(rates, pairs, model)
    z = (sample - model) / np.sqrt(variance / 1000)
    assert comparison.count == 45
    assert comparison.slope == pytest.approx(sample @ model / (model @ model), rel=1e-9)
    assert comparison.l2 == pytest.approx(np.linalg.norm(sample - model), rel=1e-9)
    assert comparison.rms_z == pytest.approx(np.sqrt(np.mean(z**2)), rel=1e-9)
    assert comparison.max_abs_z == pytest.approx(np.abs(z).max(), rel=1e-9)
    assert comparison.density[0].sum() == 45 and comparison.z_histogram[0].sum() == 45


def test_power_front_gives_the_full_max_z_power(reduced4):
    """The Pareto front of pairs gives the same max-|z| power as all pairs."""
    thermal = report.imitations_of(reduced4)["thermal"]
    rates, matrix = low_order.pair_cumulant_matrix(reduced4)
    alt_rates, alt_matrix = low_order.pair_cumulant_matrix(thermal)
    front = low_order.pair_power_front(rates, matrix, alt_rates, low_order.pair_cumulant_blocks(
        thermal, block_rows=5))
    assert 0 < len(front[0]) < 100
    pairs = np.array(list(combinations(range(reduced4.n_modes), 2)))
    null = matrix[pairs[:, 0], pairs[:, 1]]
    alt = alt_matrix[pairs[:, 0], pairs[:, 1]]
    s0 = np.sqrt(statistics.pair_covariance_variance(rates, pairs, null))
    s1 = np.sqrt(statistics.pair_covariance_variance(alt_rates, pairs, alt))
    for n in (10, 300, 10_000):
        critical = statistics.max_z_critical(len(pairs), 0.01)
        full = statistics.max_z_power(alt - null, s0 / np.sqrt(n), s1 / np.sqrt(n), critical)
        reduced = statistics.max_z_power(front[0], front[1] / np.sqrt(n),
                                         front[2] / np.sqrt(n), critical)
        assert reduced == pytest.approx(full, rel=1e-12)


def test_memory_budget_refuses_before_work(reduced4):
    with pytest.raises(InputError, match="memory_budget.*raise memory_budget to at least"):
        low_order.pair_cumulant_matrix(reduced4, memory_budget=1e6)

    def never():
        raise AssertionError("the stream was read")
        yield

    with pytest.raises(InputError, match="sample co-click matrix.*memory_budget"):
        low_order.stream_statistics(never(), 8176, memory_budget=1e8)
    with pytest.raises(InputError, match="memory_budget must be a positive"):
        low_order.pair_cumulant_matrix(reduced4, memory_budget=0)
    assert low_order.memory_estimate(8176, 1024) < low_order.DEFAULT_MEMORY_BUDGET


def test_compare_samples_takes_chunks(small):
    experiment, patterns = small
    whole = validation.compare_samples(experiment, {"x": patterns}, triples=20, rng=2,
                                       phase_space_samples=2000).rows[0]
    chunked = validation.compare_samples(
        experiment, {"x": iter(_split(patterns, [3, 500, 497]))}, triples=20, rng=2,
        phase_space_samples=2000).rows[0]
    for key, value in whole.items():
        if key == "tests":
            for name, result in value.items():
                assert chunked[key][name] == pytest.approx(result, rel=1e-12), name
        else:
            assert chunked[key] == (value if key == "name" else pytest.approx(value, rel=1e-12))


# -- the streamed report and the command ---------------------------------------------
def _bernoulli(experiment, shots, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((shots, experiment.n_modes)) < experiment.click_probabilities()).astype(
        np.uint8)


def test_streamed_report_on_reduced_jiuzhang4(tmp_path, reduced4):
    pytest.importorskip("matplotlib")
    patterns = _bernoulli(reduced4, 600, 1)
    path = write_report(iter(_split(patterns, [1, 299, 300])), reduced4, tmp_path / "r",
                        samples=2000, triples=100, max_clicks=0)
    text = path.read_text()
    for section in ("## Click-number distribution", "## Click rates per mode",
                    "## Pair click covariances", "## Third-order click cumulants",
                    "## Not computed at this size", "## Tests"):
        assert section in text, section
    for name in ("click_numbers.png", "click_rates.png", "pair_correlators.png",
                 "triple_correlators.png"):
        assert (tmp_path / "r" / name).stat().st_size > 1000
        assert f"]({name})" in text
    assert "streaming" in text and "likelihood ratios: they need exact pattern" in text
    assert "| pair covariances | max abs z" in text and "over 1326 pairs" in text
    assert "| third-order cumulants |" in text


def test_validate_refuses_a_file_of_another_width(tmp_path, capsys):
    npy = tmp_path / "p.npy"
    np.save(npy, np.zeros((5, 51), dtype=np.uint8))
    status = main(["validate", str(npy), "--model", "jiuzhang4", "--option", "spatial_modes=2",
                   "--option", "cube_side=3", "--out", str(tmp_path / "r")], out=io.StringIO())
    assert status == 2
    assert "holds patterns of 51 modes, the model 'jiuzhang4' has 52" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _stand_in(model, samples=None, rng=None):
    """A normal click-number distribution, standing in for the positive-P one
    in the full-size test until that scales to 8176 modes."""
    from scipy import stats

    p = model.click_probabilities()
    M = len(p)
    q = stats.norm.pdf(np.arange(M + 1), p.sum(), np.sqrt((p * (1 - p)).sum()))
    return ClickNumberDistribution(q / q.sum(), np.zeros(M + 1), np.arange(M), "normal stand-in",
                                   None, M, 1, None)


@pytest.mark.slow
def test_streamed_report_at_full_jiuzhang4(tmp_path, monkeypatch):
    """The report on 300 Bernoulli shots of the full 8176-mode model (minutes)."""
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(report, "click_number_distribution", _stand_in)
    experiment = presets.jiuzhang4()
    patterns = _bernoulli(experiment, 300, 2)
    path = write_report(iter(_split(patterns, [100, 100, 100])), experiment, tmp_path,
                        triples=200)
    text = path.read_text()
    assert "over 33419400 pairs" in text and "8176 modes" in text
    for name in ("click_numbers.png", "click_rates.png", "pair_correlators.png",
                 "triple_correlators.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_validate_reads_sample_files_chunk_by_chunk(tmp_path, monkeypatch):
    """The chunks validate streams from an HDF5 file and a .npy array are the
    file's patterns."""
    from jiuzhang_emu import cli
    from jiuzhang_emu import files as sample_io

    h5 = tmp_path / "run.h5"
    assert main(["sample", "--preset", "jiuzhang_like", "--option", "n_modes=6", "--shots",
                 "300", "--out", str(h5), "--seed", "3", "--no-progress"],
                out=io.StringIO()) == 0
    expected = sample_io.read_samples(h5).patterns
    from jiuzhang_emu.files import reading

    monkeypatch.setattr(reading, "_CHUNK_BYTES", 1)  # one HDF5 chunk (64 shots) per read
    monkeypatch.setattr(cli, "_CHUNK_BYTES", 6 * 7)  # .npy: 7 rows per chunk
    args = cli._parser().parse_args(["validate", str(h5), "--out", str(tmp_path / "r")])
    chunks = list(cli._pattern_chunks(args))
    assert len(chunks) > 1
    np.testing.assert_array_equal(np.concatenate(chunks), expected)
    np.save(tmp_path / "p.npy", expected)
    args = cli._parser().parse_args(["validate", str(tmp_path / "p.npy"), "--out", "x"])
    np.testing.assert_array_equal(np.concatenate(list(cli._pattern_chunks(args))), expected)
