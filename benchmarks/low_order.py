"""Low-order samplers at Jiuzhang 4.0 scale (issue 17): construction time,
peak memory and moment z-scores.

``--greedy``: the whole-set greedy construction (:mod:`jiuzhang_emu.samplers.
greedy`) of ``--shots`` rows of ``presets.jiuzhang4(spatial_modes=S,
cube_side=C)`` for each ``--sizes S:C`` (M = S (C^3 - 1) modes), timed with
its pair targets and ``--sweeps`` refinement sweeps (per-pair rate: the
time over L M (M - 1) (1 + 2 sweeps) / 2 pair-rows).  The z-scores
compare the set's counts with L p: z_j = (n_j - L p_j) / sqrt(L p_j (1 - p_j))
and likewise for the co-click counts n_jk against L p_jk (the shot noise of
L independent samples); the set is not i.i.d., so |z| << 1 is what it is
built for.  Peak memory: the process's maximum resident set (ru_maxrss).

    PYTHONPATH=. python benchmarks/low_order.py --greedy --sizes 2:8 4:8 --shots 10000
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np


def greedy_case(spatial_modes, cube_side, shots, seed, threads, sweeps):
    from jiuzhang_emu import presets
    from jiuzhang_emu.samplers import greedy

    start = time.perf_counter()
    experiment = presets.jiuzhang4(spatial_modes=spatial_modes, cube_side=cube_side)
    M = experiment.n_modes
    built = time.perf_counter() - start
    start = time.perf_counter()
    prepared = greedy.prepare(experiment, shots, np.random.SeedSequence(seed), progress=False,
                              n_threads=threads, sweeps=sweeps)
    construction = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GiB (ru_maxrss in KiB)
    X = prepared.rows
    p = experiment.click_probabilities()
    z1 = (X.sum(axis=0, dtype=np.int64) - shots * p) / np.sqrt(shots * p * (1 - p))
    Xf = X.astype(np.float32)
    counts = (Xf.T @ Xf).astype(np.float64)  # exact: counts < 2^24
    del Xf
    iu = np.triu_indices(M, 1)
    pair = experiment.pair_click_probabilities()[iu]
    z2 = (counts[iu] - shots * pair) / np.sqrt(shots * pair * (1 - pair))
    result = {
        "modes": M, "shots": shots, "threads": threads, "sweeps": sweeps, "build_s": built,
        "construction_s": construction,
        "ns_per_pair_row": construction / (shots * M * (M - 1) * (1 + 2 * sweeps) / 2) * 1e9,
        "load_average": os.getloadavg()[0],
        "peak_gib": peak, "mean_clicks": float(X.sum() / shots),
        "first_max_abs_z": float(np.abs(z1).max()), "first_rms_z": float(np.sqrt(np.mean(z1**2))),
        "pair_max_abs_z": float(np.abs(z2).max()), "pair_rms_z": float(np.sqrt(np.mean(z2**2))),
        "pair_max_abs_count": float(np.abs(counts[iu] - shots * pair).max()),
        "pair_rms_count": float(np.sqrt(np.mean((counts[iu] - shots * pair) ** 2))),
    }
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--greedy", action="store_true", help="the whole-set greedy set")
    parser.add_argument("--sizes", nargs="+", default=["2:3", "2:8"],
                        help="jiuzhang4 sizes spatial_modes:cube_side (16:8 is the full 8176)")
    parser.add_argument("--shots", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sweeps", type=int, nargs="+", default=[1],
                        help="refinement sweeps (one run per value)")
    args = parser.parse_args(argv)
    if not args.greedy:
        parser.error("choose a part: --greedy")
    for size in args.sizes:
        spatial, side = (int(x) for x in size.split(":"))
        for sweeps in args.sweeps:
            print(json.dumps(greedy_case(spatial, side, args.shots, args.seed, args.threads,
                                         sweeps)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
