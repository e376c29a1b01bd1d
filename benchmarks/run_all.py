"""Run every benchmark and write the results, fits and plots to one folder.

Runs ``kernels.py``, ``samplers.py`` and ``cost_model.py`` one after the
other (each in its own process, so that thread settings take effect before
numpy loads), keeps their printed tables and JSON results, then fits
t = a * b^n to every library's times and writes ``summary.md`` with the fits
and ratios, and PNG plots (needs matplotlib).  The default settings take
about 12 minutes on a 2-core machine.

Usage::

    python benchmarks/run_all.py [--out DIR] [--quick]
    python benchmarks/run_all.py --summarise-only --out DIR   # redo fits and plots
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ("kernels", "samplers", "cost_model")
#: times below this are dominated by call overheads, not by the algorithm's growth
FIT_MIN_SECONDS = 1e-4


def run_script(name, out, quick):
    """Run one benchmark script, teeing its output to ``out/name.txt``."""
    command = [sys.executable, os.path.join(HERE, f"{name}.py"), "--json",
               os.path.join(out, f"{name}.json")] + (["--quick"] if quick else [])
    start = time.perf_counter()
    with open(os.path.join(out, f"{name}.txt"), "w") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=HERE)
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        code = proc.wait()
    return code, time.perf_counter() - start


def fit_exponential(sizes, seconds):
    """Least-squares fit of log t = log a + n log b; (a, b) or None when
    fewer than two points are above FIT_MIN_SECONDS."""
    points = [(n, t) for n, t in zip(sizes, seconds) if t is not None and t >= FIT_MIN_SECONDS]
    if len(points) < 2:
        return None
    n = [p[0] for p in points]
    y = [math.log(p[1]) for p in points]
    n_mean, y_mean = sum(n) / len(n), sum(y) / len(y)
    slope = (sum((a - n_mean) * (b - y_mean) for a, b in zip(n, y))
             / sum((a - n_mean) ** 2 for a in n))
    return math.exp(y_mean - slope * n_mean), math.exp(slope)


def kernel_series(report):
    """{kernel: {library: (sizes, median seconds)}} from kernels.json."""
    series = {}
    for kernel, rows in report["kernels"].items():
        libraries = {}
        for row in rows:
            for library, result in row["results"].items():
                if "median" in result:
                    sizes, times = libraries.setdefault(library, ([], []))
                    sizes.append(row["size"])
                    times.append(result["median"])
        series[kernel] = libraries
    return series


def sampler_series(report):
    """{"case label, threshold|PNR": {library: (modes, seconds per sample)}}."""
    series = {}
    for case in report["cases"].values():
        for kind in ("thr", "pnr"):
            libraries = {}
            for row in case["rows"]:
                for library, result in row["results"].get(kind, {}).items():
                    if result.get("per_sample") and not result.get("killed"):
                        sizes, times = libraries.setdefault(library, ([], []))
                        sizes.append(row["M"])
                        times.append(result["per_sample"])
            series[f"{case['label']}, {'threshold' if kind == 'thr' else 'PNR'}"] = libraries
    return series


def fit_table(title, series, unit):
    """Markdown: per library the fit a * b^n and, at the largest size every
    library reached, its time and its ratio to ours."""
    lines = [f"### {title}", "",
             f"| | library | a (s) | b (per {unit}) | largest common {unit} | time (s) | "
             "ratio to ours |", "|---|---|---|---|---|---|---|"]
    for name, libraries in series.items():
        ours = libraries.get("ours")
        common = set.intersection(*(set(s) for s, _ in libraries.values())) if libraries else set()
        n_common = max(common) if common else None
        for library, (sizes, times) in libraries.items():
            fit = fit_exponential(sizes, times)
            fit_text = (f"{fit[0]:.3g} | {fit[1]:.3f}" if fit else "- | -")
            at = times[sizes.index(n_common)] if n_common is not None else None
            ratio = ""
            if at is not None and ours and n_common in ours[0]:
                ratio = f"{at / ours[1][ours[0].index(n_common)]:.3g}"
            lines.append(f"| {name} | {library} | {fit_text} | {n_common} | "
                         f"{'' if at is None else f'{at:.3g}'} | {ratio} |")
    return lines


def plot_series(series, path, unit, title, plt):
    panels = list(series.items())
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (name, libraries) in zip(axes.flat, panels):
        for library, (sizes, times) in libraries.items():
            line, = ax.semilogy(sizes, times, "o", ms=4, label=library)
            fit = fit_exponential(sizes, times)
            if fit:
                a, b = fit
                ax.semilogy(sizes, [a * b**n for n in sizes], "-", lw=1, color=line.get_color())
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(unit)
        ax.set_ylabel("seconds")
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title + " (lines: fitted a * b^n)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def cost_lines(report):
    lines = ["### The cost model against the real samplers (one thread)", "",
             "| route | M | shots | predicted mean (s/sample) | predicted, drawn samples | "
             "measured | measured / predicted | measured / predicted (drawn) |",
             "|---|---|---|---|---|---|---|---|"]
    for c in report["checks"]:
        lines.append(f"| {c['route']} | {c['n_modes']} | {c['shots']} | {c['predicted']:.3g} | "
                     f"{c['predicted_drawn']:.3g} | {c['measured']:.3g} | "
                     f"{c['measured'] / c['predicted']:.2f} | "
                     f"{c['measured'] / c['predicted_drawn']:.2f} |")
    return lines


def plot_cost(report, path, plt):
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for route in ("threshold-chain", "exact", "fan-out"):
        checks = [c for c in report["checks"] if c["route"] == route]
        if not checks:
            continue
        modes = [c["n_modes"] for c in checks]
        line, = ax.semilogy(modes, [c["predicted"] for c in checks], "-", label=f"{route}: model")
        ax.semilogy(modes, [c["predicted_drawn"] for c in checks], "x", color=line.get_color(),
                    label=f"{route}: model, drawn samples")
        ax.semilogy(modes, [c["measured"] for c in checks], "o", color=line.get_color(),
                    mfc="none", label=f"{route}: measured")
    ax.set_xlabel("modes M (Jiuzhang-like)")
    ax.set_ylabel("seconds per sample")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summarise(out):
    """Write summary.md and the plots from the JSON results in ``out``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
        print("matplotlib is not installed: no plots")
    lines = ["# Benchmark summary", ""]
    loaded = {}
    for name in SCRIPTS:
        path = os.path.join(out, f"{name}.json")
        if os.path.exists(path):
            with open(path) as f:
                loaded[name] = json.load(f)
    for name, series_of, title, unit, axis, plot_title in (
            ("kernels", kernel_series, "Kernels: median seconds against matrix size n", "n",
             "matrix size n", "Kernels"),
            ("samplers", sampler_series, "Samplers: seconds per sample against modes M", "M",
             "modes M", "Exact samplers")):
        if name in loaded:
            series = series_of(loaded[name])
            lines += fit_table(title, series, unit) + [""]
            if plt:
                plot_series(series, os.path.join(out, f"{name}.png"), axis, plot_title, plt)
    if "cost_model" in loaded:
        lines += cost_lines(loaded["cost_model"]) + [""]
        if plt:
            plot_cost(loaded["cost_model"], os.path.join(out, "cost_model.png"), plt)
    lines += ["ratio = library time / our time: above 1, we are faster.", ""]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "results"),
                        help="folder for the results (default benchmarks/results)")
    parser.add_argument("--quick", action="store_true", help="every script's smoke mode")
    parser.add_argument("--summarise-only", action="store_true",
                        help="redo the fits and plots from the JSON already in --out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    failed = []
    if not args.summarise_only:
        for name in SCRIPTS:
            code, seconds = run_script(name, args.out, args.quick)
            print(f"== {name}.py: exit {code}, {seconds:.0f} s", flush=True)
            if code:
                failed.append(name)
    summarise(args.out)
    print(f"results in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
