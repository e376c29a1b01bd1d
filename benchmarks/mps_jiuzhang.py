"""Approximate Jiuzhang samples by the lossy MPS, against the ideal model.

For ``--preset`` (default ``jiuzhang1``; ``jiuzhang2``, ``jiuzhang3``: the
144-mode presets with stand-in interferometers) and each bond dimension of
``--chi``, builds the lossy MPS of Oh et al. (Nat. Phys. 20, 1461 (2024),
arXiv:2306.03709; ``jiuzhang_emu.samplers.build_mps``) into
``DIR/<preset>_chi<chi>.mps.h5`` and samples ``--shots`` shots from it into
``DIR/<preset>_chi<chi>.h5``, each timed (both files resume: rerun the same
command after an interruption).  The squashed and thermal adversaries draw
the same number of shots.  Then every sample set is compared with the ideal
model on the statistics Oh et al. use (``validation.compare_samples``:
click-number distribution (positive-P, ``--phase-space`` samples), click
rates, two- and three-point click cumulants: slope and l2 distance), with
the published Jiuzhang 1.0 data (rates and histogram; no patterns, so no
cumulants) as a row for ``jiuzhang1``.

Printed: per chi the build time, sampling time per shot, bond and Schmidt
truncation, the pure part's photons, and the mean probability mass the
truncation left out of a shot (from ``--pilot`` extra shots); then the
comparison table.  No peer library samples by MPS (Oh et al.'s research code
runs on MPI + GPUs); their published times are quoted in the note of issue
16.  BLAS threads: ``--threads`` (default all cores).

    python benchmarks/mps_jiuzhang.py --chi 100,400,1000 --shots 100000
    python benchmarks/mps_jiuzhang.py --preset jiuzhang2 --chi 400 --shots 20000
    python benchmarks/mps_jiuzhang.py --quick --out /tmp/q
"""
import argparse
import json
import os
import sys
import time

from _common import base_versions, json_default, set_thread_environment

THREADS = set_thread_environment(sys.argv[1:])

import numpy as np  # noqa: E402

from jiuzhang_emu import files, presets, validation  # noqa: E402
from jiuzhang_emu.samplers.mps import MPSSampler, build_mps  # noqa: E402

ADVERSARIES = ("squashed", "thermal")


def _experiment(args):
    if args.quick:
        return presets.jiuzhang_like(12, r=1.2, transmission=0.4, rng=1)
    return presets.PRESETS[args.preset]()


def _timed_samples(path, experiment, shots, seed, method, workers, network=None):
    start = time.perf_counter()
    report = files.write_samples(path, experiment, shots, rng=seed, method=method,
                                 n_workers=workers, mps=network, max_seconds=None,
                                 progress=None)
    seconds = time.perf_counter() - start
    return files.read_samples(path).patterns, report.sampled, seconds


def run(args):
    experiment = _experiment(args)
    name = "jiuzhang_like12" if args.quick else args.preset
    os.makedirs(args.out, exist_ok=True)
    print(f"# lossy MPS of {experiment.name} ({experiment.n_modes} modes), {args.shots} shots "
          f"per sample set, {THREADS} BLAS thread(s), {args.workers} worker(s)")
    print("| chi | largest bond | largest discarded weight | total discarded | pure photons | "
          "split | build (s) | sampling (s/shot) | truncated mass per shot: mean (network, "
          "above displaced cutoff) |")
    print("|---|---|---|---|---|---|---|---|---|")
    results, sample_sets = [], {}
    for chi in args.chi:
        start = time.perf_counter()
        network = build_mps(experiment, chi=chi, cutoff=args.cutoff,
                            displaced_cutoff=args.displaced_cutoff,
                            path=os.path.join(args.out, f"{name}_chi{chi}.mps.h5"),
                            n_workers=args.workers, progress=None)
        build = time.perf_counter() - start
        patterns, sampled, seconds = _timed_samples(
            os.path.join(args.out, f"{name}_chi{chi}.h5"), experiment, args.shots, args.seed,
            "mps", args.workers, network)
        pilot = MPSSampler(experiment, network)
        pilot.counts(args.pilot, np.random.default_rng(args.seed + 1))
        truncated = pilot.mean_truncated_mass
        per_shot = seconds / sampled if sampled else float("nan")
        row = {"chi": chi, "largest_bond": int(network.bonds.max()),
               "largest_discarded_weight": float(network.discarded_weights.max()),
               "total_discarded_weight": float(network.discarded_weights.sum()),
               "pure_photons": network.split.pure_photons, "split": network.split.method,
               "build_seconds": build, "sampled": sampled, "sampling_seconds": seconds,
               "seconds_per_shot": per_shot, "mean_truncated_mass": truncated,
               "mean_network_truncated_mass": pilot.mean_network_truncated_mass,
               "max_truncated_mass": pilot.unresolved_mass}
        results.append(row)
        print(f"| {chi} | {row['largest_bond']} | {row['largest_discarded_weight']:.4g} | "
              f"{row['total_discarded_weight']:.4g} | {row['pure_photons']:.3f} | "
              f"{row['split']} | {build:.1f} | {per_shot:.4g} | {truncated:.4f} "
              f"({pilot.mean_network_truncated_mass:.4f}, "
              f"{max(0.0, truncated - pilot.mean_network_truncated_mass):.4f}) |", flush=True)
        sample_sets[f"mps chi={chi}"] = patterns
    for method in ADVERSARIES:
        patterns, _, _ = _timed_samples(os.path.join(args.out, f"{name}_{method}.h5"),
                                        experiment, args.shots, args.seed, method, args.workers)
        sample_sets[method] = patterns
    measured = presets.jiuzhang1_measured() if name == "jiuzhang1" else None
    comparison = validation.compare_samples(experiment, sample_sets, measured=measured,
                                            triples=args.triples,
                                            phase_space_samples=args.phase_space,
                                            rng=args.seed)
    print()
    print(f"# against the ideal model (click-number distribution by "
          f"{comparison.distribution.method}"
          + (f", {args.phase_space} phase-space samples" if
             comparison.distribution.method == "phase-space" else "")
          + f"; {len(comparison.subsets[3])} random triples)")
    print(comparison.table())
    return {"experiment": experiment.name, "modes": experiment.n_modes, "threads": THREADS,
            "workers": args.workers, "shots": args.shots, "versions": base_versions(),
            "builds": results, "comparison": comparison.rows}


def _chis(text):
    values = [int(v) for v in text.split(",")]
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"chi values must be >= 1, got {text!r}")
    return values


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="jiuzhang1",
                        choices=["jiuzhang1", "jiuzhang2", "jiuzhang3"])
    parser.add_argument("--chi", type=_chis, default=[100, 400, 1000],
                        help="bond dimensions, comma separated (default 100,400,1000)")
    parser.add_argument("--cutoff", type=int, default=4)
    parser.add_argument("--displaced-cutoff", type=int, default=24)
    parser.add_argument("--shots", type=int, default=100_000)
    parser.add_argument("--pilot", type=int, default=1024,
                        help="extra shots timed for the truncated mass (default 1024)")
    parser.add_argument("--phase-space", type=int, default=100_000,
                        help="positive-P samples of the ideal click-number distribution")
    parser.add_argument("--triples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, help="BLAS threads (default all cores)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "mps"))
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="a 12-mode Jiuzhang-like experiment, chi 4 and 16, 640 shots")
    args = parser.parse_args(argv)
    if args.quick:
        args.chi, args.shots, args.pilot, args.phase_space, args.triples = [4, 16], 640, 128, \
            10_000, 100
    return args


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    result = run(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1, default=json_default)


if __name__ == "__main__":
    main()
