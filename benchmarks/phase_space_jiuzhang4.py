"""Phase-space click-number distributions and P-function adversaries at
Jiuzhang 4.0 scale (issue 17): time and peak memory of one task per run.

    python benchmarks/phase_space_jiuzhang4.py total --samples 100000
    python benchmarks/phase_space_jiuzhang4.py grouped --samples 100000
    python benchmarks/phase_space_jiuzhang4.py squashed --shots 10000

Options ``--spatial-modes`` and ``--cube-side`` scale the preset down (the
defaults are the full 16 x 511 = 8176 modes).  Prints one JSON line.
"""
import argparse
import json
import resource
import time

import numpy as np

from jiuzhang_emu import presets, validation


def _peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["total", "grouped", "squashed"])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--shots", type=int, default=10_000)
    parser.add_argument("--spatial-modes", type=int, default=16)
    parser.add_argument("--cube-side", type=int, default=8)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    experiment = presets.jiuzhang4(spatial_modes=args.spatial_modes, cube_side=args.cube_side)
    exact_mean = float(experiment.click_probabilities().sum())
    out = {"task": args.task, "modes": experiment.n_modes, "build_s": time.perf_counter() - start,
           "exact_mean_clicks": exact_mean}
    start = time.perf_counter()
    if args.task == "total":
        dist = validation.click_number_distribution(experiment, method="phase-space",
                                                    samples=args.samples, rng=args.seed)
        first, stop = dist.window or (0, len(dist.probabilities))
        c = np.arange(first, stop)
        p = dist.probabilities[first:stop]
        mean = float(c @ p)
        variance = float((c - mean) ** 2 @ p)
        gradient = (c - mean) ** 2
        variance_error = float(np.sqrt(max(gradient @ dist.covariance @ gradient, 0.0)))
        out.update(samples=args.samples, window=[first, stop], outside_mass=dist.outside_mass,
                   mean=mean, mean_error=dist.mean_standard_error(),
                   z_mean=(mean - exact_mean) / dist.mean_standard_error(),
                   std=float(np.sqrt(variance)),
                   std_error=variance_error / (2 * np.sqrt(variance)),
                   probability_sum=float(p.sum()), largest_bin_error=float(
                       dist.standard_errors.max()))
    elif args.task == "grouped":
        half = experiment.n_modes // 2
        groups = [np.arange(half), np.arange(half, experiment.n_modes)]
        dist = validation.grouped_click_distribution(experiment, groups, method="phase-space",
                                                     samples=args.samples, rng=args.seed)
        rates = experiment.click_probabilities()
        marginal_means = []
        for axis, (group, window) in enumerate(zip(groups, dist.window or [])):
            other = tuple(a for a in range(len(groups)) if a != axis)
            marginal = dist.probabilities.sum(axis=other)
            marginal_means.append([float(np.arange(*window) @ marginal),
                                   float(rates[group].sum())])
        out.update(samples=args.samples, window=dist.window, outside_mass=dist.outside_mass,
                   bins=int(dist.probabilities.size), probability_sum=float(
                       dist.probabilities.sum()), marginal_mean_vs_exact=marginal_means,
                   largest_bin_error=float(dist.standard_errors.max()))
    else:
        patterns = experiment.sample(args.shots, method="squashed", rng=args.seed).patterns
        clicks = patterns.sum(axis=1)
        out.update(shots=args.shots, mean_clicks=float(clicks.mean()),
                   mean_clicks_error=float(clicks.std() / np.sqrt(len(clicks))))
    out.update(task_s=time.perf_counter() - start, peak_rss_gb=_peak_gb())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
