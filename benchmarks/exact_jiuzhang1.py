"""Exact samples of Jiuzhang 1.0, one shot at a time, each shot timed.

Draws exact samples of ``presets.jiuzhang1()`` (or ``--preset NAME``, or
``--modes M``: ``presets.jiuzhang_like(M, r=1.577, transmission=0.2937)``)
for a fixed time budget (``--minutes``) by an exact route (``--method``,
default "fan-out": Bulmer et al., Sci. Adv. 8, eabl9236 (2022),
arXiv:2108.01622), and writes every shot to an HDF5 file as soon as it is
drawn, so an interrupted run loses at most the shot in progress.  Then
prints the time per sample against the number of clicks next to the
figures Bulmer et al. published for a Jiuzhang-1.0-like 100-mode state.

How a shot is drawn and timed
-----------------------------
* The route's sampler is built once
  (``jiuzhang_emu.samplers.engine.route_sampler``; its setup is timed on its
  own and reported, not counted in any shot).  Where the sampler has an
  ``n_threads`` attribute (fan-out: threads inside one shot) it is set to
  ``--threads``; the other routes run a single shot on one thread.
* Shot i draws ``counts(1, rng)`` with
  ``rng = default_rng(SeedSequence(--seed, spawn_key=(i,)))``, so a shot
  does not depend on which run or session drew it.  ``seconds`` is the wall
  time of that call alone.
* The detector model is then applied as ``Experiment.sample`` does: the
  light's clicks (for "exact", which draws photon numbers, the detector's
  response to them), plus dark counts where the preset has any.  Jiuzhang 1.0
  and ``jiuzhang_like`` have none, so their patterns are the light's clicks.
  ``clicks`` (what the time is set against) counts the light's clicks, as
  ``Experiment.mean_clicks`` counts them (pseudo-PNR: detectors that fired).

The file (``--out``, default ``benchmarks/results/exact_<experiment>.h5``,
``exact_<experiment>_<method>.h5`` for a method other than fan-out)
----------------------------------------------------------------------
Datasets, one row per shot: ``patterns`` (shots, M) int16, ``seconds``
float64, ``shot_index`` int64, ``clicks`` int32, ``session`` int32 (which
run drew it).  Attributes: ``experiment`` (``Experiment.describe()`` as
JSON), ``fingerprint``, ``method``, ``seed``, ``exact_mean_clicks``,
``sessions`` (JSON list: start time, machine, threads, load of each run) and
``shots_done``, written last after every shot: rows beyond it (a write cut
short) are dropped when the file is opened again.  Rerunning with the same
file resumes at shot index ``shots_done``; a file made for another
experiment (fingerprint), method or seed is refused.  Ctrl-C is honoured
between shots: a shot in progress (a native call) finishes first, and is
then discarded; the run's summary is printed.  (SIGTERM or SIGKILL stop at
once and keep every shot written.)  HDF5 locks a file that a run is writing:
to read it meanwhile (``--report-only``, the notebook), copy it or set
``HDF5_USE_FILE_LOCKING=FALSE``.

``--largest``: the largest ``presets.jiuzhang_like(M, r, transmission)``
(``--r``, ``--transmission``; the interferometer seed is
``--unitary-seed``) that the method samples at >= 1 sample/s with
``--threads`` threads: M from ``--largest-start`` (28) upward in steps of
``--largest-step`` (8) until one is too slow, then bisection (even M)
between the last fast and the first slow size.  Each size draws up to
``--largest-shots`` (30) shots one at a time, stopping early once its time
exceeds ``--largest-shots`` seconds (then it cannot reach 1/s) or
``--largest-cap`` seconds.  The rate is shots / the sum of their seconds
(the sampler's setup excluded).  ``benchmarks/samplers.py --largest`` asks
the same question of the route "auto" with threads over many shots; this
one asks it of one method with threads inside a shot.

Usage::

    python benchmarks/exact_jiuzhang1.py                      # Jiuzhang 1.0, fan-out, 20 minutes
    python benchmarks/exact_jiuzhang1.py --minutes 60         # resume the same file for an hour
    python benchmarks/exact_jiuzhang1.py --report-only        # summarise the file
    python benchmarks/exact_jiuzhang1.py --modes 40 --minutes 5
    python benchmarks/exact_jiuzhang1.py --largest --json /tmp/largest.json
    python benchmarks/exact_jiuzhang1.py --quick --out /tmp/q.h5 [--method threshold-chain]
"""
import argparse
import json
import os
import platform
import signal
import sys
import time

from _common import (background_load, base_versions, cpu_info, json_default,
                     set_thread_environment, usable_cores)

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(BENCH_DIR, "results")

if __name__ == "__main__":
    set_thread_environment(sys.argv[1:])

import numpy as np  # noqa: E402 - after the thread environment is set

FORMAT = "jiuzhang_emu exact-sample benchmark"
FORMAT_VERSION = 1
METHODS = ("fan-out", "exact", "threshold-chain")   # the exact routes
#: Click bands [low, high) of the report; None = open.
BANDS = ((0, 20), (20, 35), (35, 45), (45, 55), (55, 65), (65, None))
#: Bulmer et al., Sci. Adv. 8, eabl9236 (2022): 1602 exact samples of a
#: Jiuzhang-1.0-like 100-mode state; seconds per sample (hardware not stated).
#: Figures as quoted in issue 15, per click band; None: not quoted.
PUBLISHED = {"samples": 1602, "mean": 8.0, "median": 1.0,
             "bands": {(35, 45): 0.95, (45, 55): 9.5, (55, 65): 131.0}}
PUBLISHED_SOURCE = ("Bulmer et al., Sci. Adv. 8, eabl9236 (2022), 1602 samples of a "
                    "J1.0-like 100-mode state, hardware not stated")
JIUZHANG_LIKE_R = 1.577          # Jiuzhang 1.0's mean published squeezing
JIUZHANG_LIKE_T = 0.2937         # ... and mean transmission
LARGEST_TARGET = 1.0             # samples per second
QUICK = {"modes": 12, "minutes": 0.25, "shots": 5}
DATASETS = {"patterns": None, "seconds": np.float64, "shot_index": np.int64,
            "clicks": np.int32, "session": np.int32}


# ------------------------------------------------------------ experiments ---

def build_experiment(args):
    """The experiment of the command line: ``--modes`` (jiuzhang_like) or
    ``--preset`` (default jiuzhang1, default options)."""
    from jiuzhang_emu import presets
    if args.modes is not None:
        return presets.jiuzhang_like(args.modes, r=args.r, transmission=args.transmission,
                                     rng=args.unitary_seed)
    return presets.get(args.preset)


def check_method(method, experiment):
    """``method`` checked against the installed routes and ``experiment``."""
    from jiuzhang_emu.samplers import engine
    if method not in engine.METHODS:
        raise SystemExit(f"--method {method!r} is not a route of this jiuzhang_emu "
                         f"(its methods: {', '.join(engine.METHODS)})")
    return engine.check_method(method, experiment)


class ShotDrawer:
    """Draws and times single shots of one experiment by one method.

    Attributes
    ----------
    setup_seconds : float
        Wall time of building the route's sampler.
    threads_in_shot : int
        Threads one shot runs on: the sampler's ``n_threads`` where it has
        one (set to ``threads``), else 1.
    """

    def __init__(self, experiment, method, seed, threads):
        from jiuzhang_emu.samplers.engine import route_sampler
        self.experiment, self.method, self.seed = experiment, method, seed
        start = time.perf_counter()
        self.sampler = route_sampler(experiment, method)
        self.setup_seconds = time.perf_counter() - start
        self.threads_in_shot = 1
        if hasattr(self.sampler, "n_threads"):
            self.sampler.n_threads = threads
            # fan-out runs small experiments' shots in parallel, one thread each
            small = getattr(sys.modules[type(self.sampler).__module__], "SHOTS_IN_PARALLEL", 0)
            self.threads_in_shot = 1 if experiment.n_modes <= small else threads
        self.dark = np.asarray(experiment.detector.dark_counts(experiment.n_modes))
        #: fan-out and the click chain count clicks; "exact" counts photons
        self.counts_are_clicks = getattr(self.sampler, "counts_are_clicks",
                                         method != "exact")

    def draw(self, index):
        """Shot ``index``: (pattern (M,), light clicks, seconds of the draw)."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(index,)))
        start = time.perf_counter()
        counts = self.sampler.counts(1, rng)
        seconds = time.perf_counter() - start
        light, pattern = light_and_pattern(self.experiment, self.counts_are_clicks, counts,
                                           self.dark, rng)
        return pattern[0], int(clicks_of(light, self.experiment)[0]), seconds


def light_and_pattern(experiment, counts_are_clicks, counts, dark, rng):
    """The light's counts and the detector's pattern from a route's counts.

    fan-out and threshold-chain count clicks already (pseudo-PNR: detectors
    that fired); photon numbers ("exact") become clicks by the detector model
    without dark counts (photon-number-resolving detectors keep them).  Dark
    counts, if any, are then added as the detector model does
    (``Detector.fire_dark`` of the fan-out route): a threshold detector also
    clicks with probability d, each of the k - c silent detectors of a
    pseudo-PNR mode fires with probability d, and a photon-number-resolving
    detector adds one count with probability d.
    """
    detector = experiment.detector
    light = counts
    if not counts_are_clicks and detector.kind != "photon-number-resolving":
        light = detector.detect(counts, np.zeros_like(dark), rng)
    if not np.any(dark):
        return light, light
    if detector.kind == "pseudo-PNR":
        return light, light + rng.binomial(detector.n_detectors - light, dark)
    return light, detector.detect(light, dark, rng)


def clicks_of(patterns, experiment):
    """Clicks per shot as ``Experiment.mean_clicks`` counts them."""
    from jiuzhang_emu.validation.statistics import clicks_per_shot
    return clicks_per_shot(patterns, experiment.detector.kind)


# ----------------------------------------------------------------- file ---

class SampleFile:
    """The HDF5 file of one experiment, method and seed (module docstring)."""

    def __init__(self, path, identity, n_modes, session):
        import h5py
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.file = h5py.File(path, "a")
        attrs = self.file.attrs
        if not len(attrs) and not len(self.file):  # a new file
            for key, value in identity.items():
                attrs[key] = value
            attrs["format"], attrs["format_version"] = FORMAT, FORMAT_VERSION
            attrs["sessions"], attrs["shots_done"] = "[]", 0
            for name, dtype in DATASETS.items():
                shape, chunks = ((0, n_modes), (64, n_modes)) if name == "patterns" else (
                    (0,), (1024,))
                self.file.create_dataset(name, shape=shape, maxshape=(None, *shape[1:]),
                                         chunks=chunks, dtype=dtype or np.int16)
        else:
            try:
                self.check(identity)
            except SystemExit:
                self.close()
                raise
        self.done = int(attrs["shots_done"])
        for name in DATASETS:  # rows of a write cut short
            if self.file[name].shape[0] != self.done:
                self.file[name].resize(self.done, axis=0)
        sessions = json.loads(attrs["sessions"])
        self.session = len(sessions)
        sessions.append(dict(session, first_shot=self.done))
        attrs["sessions"] = json.dumps(sessions)
        self.file.flush()

    def check(self, identity):
        """Refuse a file of another format, experiment, method or seed."""
        attrs = self.file.attrs
        held = {key: attrs.get(key) for key in ("format", "fingerprint", "method", "seed")}
        held = {key: v.item() if isinstance(v, np.generic) else v for key, v in held.items()}
        name = json.loads(attrs["experiment"])["name"] if "experiment" in attrs else "?"
        if held["format"] != FORMAT:
            raise SystemExit(f"--out {self.path}: not a file of this benchmark "
                             f"(format {held['format']!r}, expected {FORMAT!r})")
        wanted = json.loads(identity["experiment"])["name"]
        for key, what in (("fingerprint", "experiment"), ("method", "method"),
                          ("seed", "seed")):
            if str(held[key]) != str(identity[key]):
                have, want = ((f"{name} ({held[key][:12]})", f"{wanted} ({identity[key][:12]})")
                              if key == "fingerprint" else (repr(held[key]), repr(identity[key])))
                raise SystemExit(f"--out {self.path} holds shots of another {what}: the file "
                                 f"has {have}, this run has {want}; choose another --out")

    def append(self, index, pattern, clicks, seconds):
        """Add one shot and flush; SIGINT waits until the shot is committed."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            n = self.done
            row = {"patterns": pattern, "seconds": seconds, "shot_index": index,
                   "clicks": clicks, "session": self.session}
            for name, value in row.items():
                self.file[name].resize(n + 1, axis=0)
                self.file[name][n] = value
            self.file.attrs["shots_done"] = self.done = n + 1
            self.file.flush()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def close(self):
        if self.file:
            self.file.close()
            self.file = None


def read_file(path):
    """Everything of a benchmark file: attrs (decoded) and the datasets up to
    ``shots_done``."""
    import h5py
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise SystemExit(f"{path}: not a file of this benchmark")
        n = int(f.attrs["shots_done"])
        data = {name: f[name][:n] for name in DATASETS}
        attrs = {key: (value.item() if isinstance(value, np.generic) else value)
                 for key, value in f.attrs.items()}
    attrs["experiment"] = json.loads(attrs["experiment"])
    attrs["sessions"] = json.loads(attrs["sessions"])
    return attrs, data


# ------------------------------------------------------------- sampling ---

def session_record(args, threads, threads_in_shot, setup_seconds):
    cpu = cpu_info()
    load = background_load()
    return {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": f"{cpu['model']}, {usable_cores()} usable cores, "
                       f"{cpu['mhz'] or '?'} MHz, {platform.platform()}",
            "host": platform.node(), "threads": threads, "threads_in_shot": threads_in_shot,
            "setup_seconds": setup_seconds, "minutes": args.minutes,
            "load_before": load, "versions": base_versions()}


def run_samples(args, threads):
    """Draw shots into the file until ``--minutes`` (or ``--shots``) are used up.

    Returns
    -------
    str
        The file's path.
    """
    experiment = build_experiment(args)
    method = check_method(args.method, experiment)
    drawer = ShotDrawer(experiment, method, args.seed, threads)
    description = experiment.describe()
    identity = {"experiment": json.dumps(description), "fingerprint": description["fingerprint"],
                "method": method, "seed": args.seed,
                "exact_mean_clicks": experiment.mean_clicks()}
    path = args.out or default_path(experiment.name, method)
    session = session_record(args, threads, drawer.threads_in_shot, drawer.setup_seconds)
    out = SampleFile(path, identity, experiment.n_modes, session)
    print(f"{experiment.name} ({experiment.n_modes} modes, {experiment.detector.kind}), method "
          f"{method!r}, seed {args.seed}: {path}, {out.done} shots already there; "
          f"sampler setup {drawer.setup_seconds:.3g} s; threads {threads} (--threads), "
          f"{drawer.threads_in_shot} inside a shot", flush=True)
    budget = 60.0 * args.minutes
    started, first = time.perf_counter(), out.done
    try:
        while time.perf_counter() - started < budget and (
                args.shots is None or out.done - first < args.shots):
            index = out.done
            pattern, clicks, seconds = drawer.draw(index)
            out.append(index, pattern, clicks, seconds)
            if args.verbose:
                print(f"   shot {index}: {clicks} clicks, {seconds:.3g} s", file=sys.stderr,
                      flush=True)
    except KeyboardInterrupt:
        print("interrupted: the shots written are kept, a shot in progress is dropped",
              flush=True)
    finally:
        out.close()
    print(f"drew {out.done - first} shots in {time.perf_counter() - started:.1f} s of wall "
          f"time; the file has {out.done} shots", flush=True)
    return path


def default_path(name, method):
    suffix = "" if method == "fan-out" else f"_{method}"
    return os.path.join(RESULTS_DIR, f"exact_{name}{suffix}.h5")


# ------------------------------------------------------------ reporting ---

def band_label(low, high):
    return f"{low}+" if high is None else f"{low}-{high}"


def summarise(attrs, data):
    """Time-per-sample statistics overall and per click band.

    Returns
    -------
    dict
        ``shots``, ``seconds`` (total), ``median`` / ``mean`` / ``max``
        seconds, ``clicks`` (mean, standard error) against
        ``exact_mean_clicks``, and ``bands``: one dict per click band
        (``band``, ``shots``, ``median``, ``mean``, ``max``, ``published``).
    """
    seconds, clicks = data["seconds"], data["clicks"]
    n = len(seconds)

    def stats(values):
        if len(values) == 0:
            return {"median": None, "mean": None, "max": None}
        return {"median": float(np.median(values)), "mean": float(np.mean(values)),
                "max": float(np.max(values))}

    bands = []
    for low, high in BANDS:
        inside = (clicks >= low) & (clicks < (np.inf if high is None else high))
        bands.append({"band": band_label(low, high), "low": low, "high": high,
                      "shots": int(inside.sum()), **stats(seconds[inside]),
                      "published": PUBLISHED["bands"].get((low, high))})
    error = float(clicks.std(ddof=1) / np.sqrt(n)) if n > 1 else None
    return {"shots": n, "seconds": float(seconds.sum()), **stats(seconds),
            "clicks": (float(clicks.mean()) if n else None, error),
            "max_clicks": int(clicks.max()) if n else None,
            "exact_mean_clicks": attrs["exact_mean_clicks"], "bands": bands}


def cell(value, digits=3):
    return "-" if value is None else f"{value:.{digits}g}"


def ratio(published, ours, comparable=True):
    if not comparable or published is None or not ours:
        return "-"
    return f"{published / ours:.3g}"


def print_report(attrs, data, summary):
    experiment, sessions = attrs["experiment"], attrs["sessions"]
    print("=" * 100)
    print(f"exact samples of {experiment['name']} ({experiment['n_modes']} modes, "
          f"{experiment['detector']['kind']} detection) by {attrs['method']!r}, seed "
          f"{attrs['seed']}, fingerprint {attrs['fingerprint'][:12]}")
    dark = max(experiment["detector"]["dark_count"])
    print("clicks       : the light's clicks (before dark counts); "
          + ("the preset has no dark counts, so the patterns are the light's clicks"
             if dark == 0 else f"patterns include dark counts (up to {dark:g})"))
    print("seconds      : wall time of one shot's counts(1, rng) call; sampler setup excluded")
    for i, s in enumerate(sessions):
        load = "?" if s.get("load_before") is None else f"{100 * s['load_before']:.0f} %"
        print(f"session {i:<5}: {s['started']}, from shot {s['first_shot']}, "
              f"{s['machine']}, threads {s['threads']} ({s['threads_in_shot']} inside a shot), "
              f"setup {s['setup_seconds']:.3g} s, other load {load}, jiuzhang_emu "
              f"{s['versions'].get('jiuzhang_emu')}")
    print(f"published    : {PUBLISHED_SOURCE}; ratio = published / ours "
          "(> 1: we are faster; different machines, not measured in this run)")
    print("=" * 100)
    comparable = experiment["n_modes"] == 100
    if not comparable:
        print(f"               (the published figures are for 100 modes; no ratios for "
              f"{experiment['n_modes']} modes)")
    if not summary["shots"]:
        print("no shots yet")
        return
    mean, error = summary["clicks"]
    print(f"{summary['shots']} shots, {summary['seconds']:.1f} s of sampling; clicks per shot "
          f"{mean:.2f} +- {cell(error)} (exact {summary['exact_mean_clicks']:.2f}), "
          f"most {summary['max_clicks']}\n")
    print("| clicks | shots | median (s) | mean (s) | max (s) | published (s) | "
          "published / our mean |")
    print("|---|---|---|---|---|---|---|")
    print(f"| all | {summary['shots']} | {cell(summary['median'])} | {cell(summary['mean'])} | "
          f"{cell(summary['max'])} | median {PUBLISHED['median']:g}, mean {PUBLISHED['mean']:g} "
          f"({PUBLISHED['samples']} samples) | "
          f"{ratio(PUBLISHED['mean'], summary['mean'], comparable)} "
          f"(median: {ratio(PUBLISHED['median'], summary['median'], comparable)}) |")
    for band in summary["bands"]:
        print(f"| {band['band']} | {band['shots']} | {cell(band['median'])} | "
              f"{cell(band['mean'])} | {cell(band['max'])} | {cell(band['published'])} | "
              f"{ratio(band['published'], band['mean'], comparable)} |")
    print("\nbands hold low <= clicks < high; the published per-band figures are as quoted in "
          "issue 15 ('~').")


# ------------------------------------------------------------ --largest ---

def time_size(n_modes, args, threads):
    """Draw up to ``--largest-shots`` shots of jiuzhang_like(n_modes) one at a
    time (stopping early, see the module docstring); the measured rate."""
    from jiuzhang_emu import presets
    experiment = presets.jiuzhang_like(n_modes, r=args.r, transmission=args.transmission,
                                       rng=args.unitary_seed)
    drawer = ShotDrawer(experiment, check_method(args.method, experiment), args.seed, threads)
    seconds, clicks, started = [], [], time.perf_counter()
    limit = args.largest_shots / LARGEST_TARGET
    while len(seconds) < args.largest_shots:
        _, c, s = drawer.draw(len(seconds))
        seconds.append(s)
        clicks.append(c)
        if sum(seconds) > limit or time.perf_counter() - started > args.largest_cap:
            break
    total = sum(seconds)
    rate = len(seconds) / total if total > 0 else float("inf")
    entry = {"n_modes": n_modes, "mean_clicks": experiment.mean_clicks(),
             "sampled_clicks": float(np.mean(clicks)), "max_clicks": int(max(clicks)),
             "shots": len(seconds), "seconds": total, "median": float(np.median(seconds)),
             "max": float(max(seconds)), "samples_per_second": rate,
             "setup": drawer.setup_seconds, "threads_in_shot": drawer.threads_in_shot,
             "passes": rate >= LARGEST_TARGET}
    print(f"   [largest: {n_modes} modes, {len(seconds)} shots, {rate:.3g} samples/s, "
          f"clicks {entry['sampled_clicks']:.1f} (exact mean {entry['mean_clicks']:.1f})]",
          file=sys.stderr, flush=True)
    return entry


def largest_scan(args, threads):
    """Step up from ``--largest-start`` until too slow, then bisect (even M)."""
    session = session_record(args, threads, None, None)
    sizes = {}

    def passes(n_modes):
        if n_modes not in sizes:
            sizes[n_modes] = time_size(n_modes, args, threads)
        return sizes[n_modes]["passes"]

    low, high, n_modes = None, None, args.largest_start
    while n_modes <= args.largest_max:
        if passes(n_modes):
            low, n_modes = n_modes, n_modes + args.largest_step
        else:
            high = n_modes
            break
    if high is not None and low is None:  # the start is too slow: step down
        n_modes = high - args.largest_step
        while n_modes >= 2 and low is None:
            if passes(n_modes):
                low = n_modes
            else:
                high, n_modes = n_modes, n_modes - args.largest_step
    while low is not None and high is not None and high - low > 2:
        mid = (low + high) // 4 * 2
        if passes(mid):
            low = mid
        else:
            high = mid
    return {"method": args.method, "r": args.r, "transmission": args.transmission,
            "threads": threads, "session": session, "shots_per_size": args.largest_shots,
            "cap": args.largest_cap,
            "sizes": [sizes[m] for m in sorted(sizes)], "largest": sizes.get(low),
            "first_too_slow": high}


def print_largest(report):
    inside = {e["threads_in_shot"] for e in report["sizes"]}
    session = report["session"]
    load = session["load_before"]
    print(f"\n## Largest jiuzhang_like(M, r={report['r']:g}, transmission="
          f"{report['transmission']:g}) sampled at >= {LARGEST_TARGET:g} sample/s by "
          f"{report['method']!r}, {report['threads']} threads ({', '.join(map(str, inside))} "
          f"inside a shot)")
    print(f"machine: {session['machine']}; other load just before: "
          f"{'?' if load is None else f'{100 * load:.0f} %'}; up to {report['shots_per_size']} "
          f"shots per size, one at a time, at most {report['cap']:g} s; samples/s = shots / "
          "their summed seconds (setup excluded)")
    print("| M | exact mean clicks | sampled clicks | most clicks | shots | seconds | "
          "median (s) | max (s) | samples/s | >= 1/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in report["sizes"]:
        print(f"| {e['n_modes']} | {e['mean_clicks']:.2f} | {e['sampled_clicks']:.2f} | "
              f"{e['max_clicks']} | {e['shots']} | {e['seconds']:.3g} | {e['median']:.3g} | "
              f"{e['max']:.3g} | {e['samples_per_second']:.3g} | "
              f"{'yes' if e['passes'] else 'no'} |")
    best = report["largest"]
    if best:
        print(f"largest: M = {best['n_modes']}, {best['samples_per_second']:.3g} samples/s "
              f"(mean clicks {best['mean_clicks']:.2f})"
              + ("" if report["first_too_slow"] is None
                 else f"; M = {report['first_too_slow']} is too slow"))
    else:
        print("largest: none of the sizes tried reaches 1 sample/s")


# ------------------------------------------------------------------ main ---

def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Exact samples of Jiuzhang 1.0 one shot at a time, each shot timed, "
                    "against Bulmer et al.'s published times.")
    parser.add_argument("--preset", default="jiuzhang1",
                        help="preset to sample, default options (default jiuzhang1)")
    parser.add_argument("--modes", type=int, default=None, metavar="M",
                        help="sample presets.jiuzhang_like(M, r=--r, transmission="
                             "--transmission) instead of --preset")
    parser.add_argument("--r", type=float, default=JIUZHANG_LIKE_R,
                        help=f"jiuzhang_like squeezing (default {JIUZHANG_LIKE_R})")
    parser.add_argument("--transmission", type=float, default=JIUZHANG_LIKE_T,
                        help=f"jiuzhang_like transmission (default {JIUZHANG_LIKE_T})")
    parser.add_argument("--unitary-seed", type=int, default=1,
                        help="seed of jiuzhang_like's interferometer (default 1)")
    parser.add_argument("--method", default="fan-out", choices=METHODS,
                        help="exact route (default fan-out)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="sampling time of this run (default 20; a shot started in time "
                             "is finished)")
    parser.add_argument("--shots", type=int, default=None,
                        help="stop after this many new shots (default: no limit)")
    parser.add_argument("--seed", type=int, default=2024,
                        help="root seed: shot i uses SeedSequence(seed, spawn_key=(i,))")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads (default: all usable cores), inside a shot where the "
                             "route can")
    parser.add_argument("--out", default=None, metavar="PATH",
                        help="HDF5 file (default benchmarks/results/exact_<experiment>.h5); "
                             "an existing one is resumed")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--report-only", action="store_true",
                        help="summarise --out (or the default file) without sampling")
    parser.add_argument("--largest", action="store_true",
                        help="only the scan for the largest jiuzhang_like sampled at >= 1/s")
    parser.add_argument("--largest-start", type=int, default=28)
    parser.add_argument("--largest-step", type=int, default=8)
    parser.add_argument("--largest-max", type=int, default=200)
    parser.add_argument("--largest-shots", type=int, default=30,
                        help="shots per size (default 30)")
    parser.add_argument("--largest-cap", type=float, default=120.0, metavar="SECONDS",
                        help="most wall time per size (default 120)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: jiuzhang_like({QUICK['modes']}), at most "
                             f"{QUICK['shots']} shots, {60 * QUICK['minutes']:g} s")
    parser.add_argument("--verbose", action="store_true", help="print every shot (stderr)")
    args = parser.parse_args(argv)
    if args.quick:
        args.modes = args.modes or QUICK["modes"]
        args.shots = args.shots or QUICK["shots"]
        args.minutes = args.minutes or QUICK["minutes"]
    if args.minutes is None:
        args.minutes = 20.0
    if args.minutes <= 0:
        parser.error(f"--minutes must be > 0, got {args.minutes}")
    if args.shots is not None and args.shots < 1:
        parser.error(f"--shots must be >= 1, got {args.shots}")
    if args.largest_start < 2 or args.largest_start % 2 or args.largest_step < 2 or (
            args.largest_step % 2):
        parser.error(f"--largest-start and --largest-step must be even and >= 2, got "
                     f"{args.largest_start} and {args.largest_step}")
    if args.largest_shots < 1 or args.largest_cap <= 0:
        parser.error(f"--largest-shots must be >= 1 and --largest-cap > 0, got "
                     f"{args.largest_shots} and {args.largest_cap}")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    threads = set_thread_environment(argv)
    report = {"threads": threads}
    if args.largest:
        report["largest"] = largest_scan(args, threads)
        print_largest(report["largest"])
    else:
        if args.report_only:
            path = args.out or default_path(
                "jiuzhang1" if args.modes is None and args.preset == "jiuzhang1"
                else build_experiment(args).name, args.method)
        else:
            path = run_samples(args, threads)
        attrs, data = read_file(path)
        summary = summarise(attrs, data)
        print_report(attrs, data, summary)
        report.update(file=path, method=attrs["method"], seed=attrs["seed"],
                      experiment=attrs["experiment"], sessions=attrs["sessions"],
                      summary=summary, published=dict(PUBLISHED, bands={
                          band_label(*k): v for k, v in PUBLISHED["bands"].items()}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=json_default)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
