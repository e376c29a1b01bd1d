"""Issue 17's targets on ``presets.jiuzhang4()`` (8176 modes), each timed in
its own process with its peak memory, and the table of the statistics each
low-order sampler matches.

    python benchmarks/jiuzhang4.py all [--out DIR]          # every task in turn
    python benchmarks/jiuzhang4.py model                    # build, rates, all pair cumulants
    python benchmarks/jiuzhang4.py phase-space              # positive-P click numbers
    python benchmarks/jiuzhang4.py sample --method greedy   # or boltzmann, squashed
    python benchmarks/jiuzhang4.py validate --method greedy # the report on that file
    python benchmarks/jiuzhang4.py table                    # what each sampler's file matches

Targets (issue 17, two cores, 24 GB): model <= 10 min and <= 12 GB;
phase-space (100,000 samples) <= 10 min; 10,000 samples of each low-order
sampler <= 15 min each; the report on a 10,000 x 8176 file <= 10 min.

``sample`` and ``validate`` run the ``jiuzhang-emu`` command's own code
(``jiuzhang_emu.cli.main``) with the arguments a user would type, writing
``DIR/METHOD.h5`` and ``DIR/report-METHOD``; ``phase-space`` keeps its
distribution in ``DIR/click_numbers.npz`` for ``table``.  ``table`` compares
every sample file in DIR with the model: click rates, all pair cumulants,
third-order cumulants of ``--triples`` random triples (the statistics of
:mod:`jiuzhang_emu.validation.low_order`) and the total click-number
distribution (chi-square against the positive-P estimate), by
:func:`jiuzhang_emu.validation.compare_samples`; a statistic is matched when
its test does not reject the model at ALPHA = 0.01 (each test on its own).
``all`` runs the tasks as
child processes (so that each one's peak RSS is its own), prints every JSON
line and a summary against the targets.  ``--spatial-modes`` and
``--cube-side`` scale the preset down (smoke runs, 1026 modes, above the
report's streaming threshold: ``--spatial-modes 3 --cube-side 7 --shots 640
--samples 2000 --report-samples 2000 --triples 200``).  Threads: all cores (OpenMP and
BLAS defaults), printed.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ALPHA = 0.01
#: (task, method) -> target seconds (issue 17).
TARGETS = {("model", None): 600, ("phase-space", None): 600, ("sample", "greedy"): 900,
           ("sample", "boltzmann"): 900, ("validate", "greedy"): 600}
LOW_ORDER = ("greedy", "boltzmann")
REFERENCE = ("squashed",)  # a P-function imitation, for comparison


def _peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def _options(args):
    return ["--option", f"spatial_modes={args.spatial_modes}",
            "--option", f"cube_side={args.cube_side}"]


def _experiment(args):
    from jiuzhang_emu import presets

    return presets.jiuzhang4(spatial_modes=args.spatial_modes, cube_side=args.cube_side)


def _model(args, out):
    from jiuzhang_emu.validation import low_order

    start = time.perf_counter()
    experiment = _experiment(args)
    out["build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    rates = experiment.click_probabilities()
    out["rates_s"] = time.perf_counter() - start
    start = time.perf_counter()
    _, covariance = low_order.pair_cumulant_matrix(experiment)  # the report's path
    out["pairs_s"] = time.perf_counter() - start
    M = experiment.n_modes
    out.update(modes=M, pairs=M * (M - 1) // 2, mean_clicks=float(rates.sum()),
               max_abs_pair_cumulant=float(np.abs(covariance - np.diag(np.diag(covariance)))
                                           .max()))


def _phase_space(args, out):
    from jiuzhang_emu import validation

    experiment = _experiment(args)
    start = time.perf_counter()
    dist = validation.click_number_distribution(experiment, method="phase-space",
                                                samples=args.samples, rng=args.seed)
    out["distribution_s"] = time.perf_counter() - start
    exact = float(experiment.click_probabilities().sum())
    out.update(samples=args.samples, window=list(dist.window or (0, len(dist.probabilities))),
               outside_mass=dist.outside_mass, mean=dist.mean(),
               mean_error=dist.mean_standard_error(), exact_mean=exact)
    np.savez(Path(args.out) / "click_numbers.npz", probabilities=dist.probabilities,
             standard_errors=dist.standard_errors, covariance=dist.covariance,
             window=np.array(dist.window or (0, len(dist.probabilities))),
             outside_mass=dist.outside_mass, samples=args.samples, n_modes=experiment.n_modes)


def _cli(argv):
    from jiuzhang_emu.cli import main

    status = main(argv)
    if status != 0:
        raise SystemExit(f"jiuzhang-emu {' '.join(argv)} exited with {status}")


def _sample(args, out):
    from jiuzhang_emu import files

    path = Path(args.out) / f"{args.method}.h5"
    if path.exists():
        path.unlink()
    # a prepared route's side file: time the whole preparation
    Path(files.prepared_file(path, args.method)).unlink(missing_ok=True)
    start = time.perf_counter()
    _cli(["sample", "--preset", "jiuzhang4", *_options(args), "--method", args.method,
          "--shots", str(args.shots), "--seed", str(args.seed), "--out", str(path),
          "--no-progress"])
    out.update(sample_s=time.perf_counter() - start, shots=args.shots,
               file_mb=path.stat().st_size / 1e6)


def _validate(args, out):
    path = Path(args.out) / f"{args.method}.h5"
    start = time.perf_counter()
    samples = [] if args.report_samples is None else ["--samples", str(args.report_samples)]
    _cli(["validate", str(path), "--out", str(Path(args.out) / f"report-{args.method}"),
          "--triples", str(args.triples), *samples])
    out.update(validate_s=time.perf_counter() - start)


def _stored_distribution(args, experiment):
    from jiuzhang_emu.validation import ClickNumberDistribution

    path = Path(args.out) / "click_numbers.npz"
    if not path.exists():
        return None
    data = np.load(path)
    if int(data["n_modes"]) != experiment.n_modes:
        return None
    return ClickNumberDistribution(
        probabilities=data["probabilities"], standard_errors=data["standard_errors"],
        modes=np.arange(experiment.n_modes), method="phase-space", samples=int(data["samples"]),
        n_modes=experiment.n_modes, max_count=1, covariance=data["covariance"],
        window=tuple(int(w) for w in data["window"]), outside_mass=float(data["outside_mass"]))


def _table(args, out):
    from jiuzhang_emu import files, validation

    experiment = _experiment(args)
    sets = {method: files.iter_patterns(Path(args.out) / f"{method}.h5")
            for method in (*LOW_ORDER, *REFERENCE) if (Path(args.out) / f"{method}.h5").exists()}
    comparison = validation.compare_samples(
        experiment, sets, distribution=_stored_distribution(args, experiment),
        triples=args.triples, phase_space_samples=args.samples, rng=args.seed)
    distribution = comparison.distribution
    out.update(triples=args.triples, exact_mean_clicks=float(experiment.mean_clicks()),
               model_mean_clicks=[distribution.mean(), distribution.mean_standard_error()],
               rows=comparison.rows)
    print(f"model: exact mean clicks {out['exact_mean_clicks']:.1f}, click-number "
          f"distribution ({distribution.method}, {distribution.samples} samples) mean "
          f"{distribution.mean():.1f} +- {distribution.mean_standard_error():.1f}\n\n"
          f"{comparison.table()}\n\n{comparison.tests_table(ALPHA)}", file=sys.stderr)


TASKS = {"model": _model, "phase-space": _phase_space, "sample": _sample,
         "validate": _validate, "table": _table}


def _all(args):
    """Every task as a child process; the summary against the targets."""
    plan = [("model", None), ("phase-space", None),
            *[("sample", m) for m in (*LOW_ORDER, *REFERENCE)],
            ("validate", "greedy"), ("table", None)]
    common = ["--out", args.out, "--spatial-modes", str(args.spatial_modes),
              "--cube-side", str(args.cube_side), "--shots", str(args.shots),
              "--samples", str(args.samples), "--seed", str(args.seed),
              "--triples", str(args.triples),
              *([] if args.report_samples is None else ["--report-samples",
                                                        str(args.report_samples)])]
    results = []
    for task, method in plan:
        argv = [sys.executable, __file__, task, *common, *(["--method", method] if method else [])]
        done = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{task} {method or ''} failed (exit {done.returncode})")
        line = done.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        results.append(json.loads(line))
    print("\n| task | wall time | peak RSS | target |\n|---|---|---|---|")
    for result in results:
        target = TARGETS.get((result["task"], result.get("method")))
        verdict = "" if target is None or args.spatial_modes != 16 or args.cube_side != 8 else \
            (" (met)" if result["wall_s"] <= target else " (MISSED)")
        print(f"| {result['task']} {result.get('method') or ''} | {result['wall_s']:.0f} s | "
              f"{result['peak_rss_gb']:.2f} GB | "
              f"{'-' if target is None else f'{target} s{verdict}'} |")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["all", *TASKS])
    parser.add_argument("--method", choices=[*LOW_ORDER, *REFERENCE], default="greedy")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results") / "jiuzhang4"))
    parser.add_argument("--spatial-modes", type=int, default=16)
    parser.add_argument("--cube-side", type=int, default=8)
    parser.add_argument("--shots", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--triples", type=int, default=1000)
    parser.add_argument("--report-samples", type=int, default=None,
                        help="validate's --samples (default: the command's own default)")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.task == "all":
        from jiuzhang_emu import effective_n_threads

        print(f"threads: {effective_n_threads()} (OpenMP and BLAS defaults); out: {args.out}",
              flush=True)
        return _all(args)
    out = {"task": args.task, "method": args.method if args.task in ("sample", "validate")
           else None}
    start = time.perf_counter()
    TASKS[args.task](args, out)
    out.update(wall_s=time.perf_counter() - start, peak_rss_gb=_peak_gb())
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
