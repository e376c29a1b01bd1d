"""The cost model (``jiuzhang_emu.cost``) against the real exact samplers.

Calibrates the model on this machine
(``jiuzhang_emu.samplers.calibration.calibrate``), then times
``Experiment.sample`` (one worker, one thread) on Jiuzhang-like experiments
of growing size, by each exact route ("threshold-chain", "exact" and, on
threshold experiments, "fan-out" where the samplers offer it), and prints
the measured seconds per sample next to the prediction.  Ends with the table
of published advantage claims.

Usage::

    python benchmarks/cost_model.py [--quick] [--json PATH]
"""
import argparse
import json
import sys
import time
from dataclasses import asdict

from _common import set_thread_environment

#: route (the sampler method) -> (detectors, r, transmission, mode counts)
SERIES = {
    "threshold-chain": ("threshold", 1.5, 0.3, (8, 12, 16, 20, 24, 28)),
    "exact": ("pnr", 1.0, 0.5, (4, 8, 12, 16, 20)),
    "fan-out": ("threshold", 1.5, 0.3, (8, 16, 24, 32, 40)),
}
QUICK_MODES = {"threshold-chain": (8, 12), "exact": (4, 8), "fan-out": (8, 12)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small sizes per route")
    parser.add_argument("--seconds", type=float, default=None,
                        help="sampling time per size (default 8, quick 1)")
    parser.add_argument("--samples", type=int, default=None,
                        help="phase-space samples per prediction (default 40000, quick 4000)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    set_thread_environment(["--threads", "1"])
    sys.stdout.reconfigure(line_buffering=True)

    from jiuzhang_emu import presets
    from jiuzhang_emu.presets import jiuzhang_like
    from jiuzhang_emu.samplers import METHODS
    from jiuzhang_emu.samplers.calibration import calibrate, check_against_sampler

    seconds = args.seconds or (1.0 if args.quick else 8.0)
    samples = args.samples or (4000 if args.quick else 40_000)
    start = time.perf_counter()
    calibration = calibrate(batches=5 if args.quick else 30)
    print(f"calibration ({time.perf_counter() - start:.0f} s): {calibration}")
    report = {"calibration": asdict(calibration), "checks": [], "claims": []}
    print("\n| route | M | shots | predicted mean (s/sample) | predicted, drawn samples | "
          "measured | measured / predicted | measured / predicted (drawn) |")
    print("|---|---|---|---|---|---|---|---|")
    missing = []
    for route, (detectors, r, transmission, modes) in SERIES.items():
        if route not in METHODS:
            missing.append(route)
            continue
        for M in QUICK_MODES[route] if args.quick else modes:
            experiment = jiuzhang_like(M, r=r, transmission=transmission, detectors=detectors,
                                       rng=M)
            check = check_against_sampler(experiment, route, seconds=seconds,
                                          samples=samples, calibration=calibration)
            report["checks"].append({**asdict(check), "r": r, "transmission": transmission})
            print(f"| {route} | {M} | {check.shots} | {check.predicted:.3g} "
                  f"+- {check.predicted_error / check.predicted:.0%} | "
                  f"{check.predicted_drawn:.3g} | {check.measured:.3g} | {check.ratio:.2f} | "
                  f"{check.ratio_drawn:.2f} |")
    if missing:
        print(f"\nnot timed (no such sampler method in this build): {', '.join(missing)}")
    table = presets.advantage_table(samples=samples, calibration=calibration)
    print("\n" + table.markdown())
    report["claims"] = [{**asdict(row.claim), "model": row.model, "route": row.route,
                         "log10_seconds_here": row.log10_seconds_here,
                         "relative_error": row.relative_error, "log10_years": row.log10_years,
                         "claim_seconds": row.claim_seconds}
                        for row in table.rows]
    print(f"\ntotal time {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
