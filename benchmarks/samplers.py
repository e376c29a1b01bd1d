"""Time exact GBS sampling: jiuzhang_emu against thewalrus, piquasso,
piquassoboost and Strawberry Fields.

Experiments: ``presets.random_experiment(M, r=, transmission=)``, every input
a single-mode squeezer ``Sgate(r)``, a Haar-random M x M interferometer (the
same unitary, seed ``[--seed, M]``, in both cases) and uniform loss, for
M = 8, 12, 16, 20:

* case (a): pure, r = 0.5 (transmission 1);
* case (b): r = 1.0, transmission 0.5 (lossy, closer to Jiuzhang).

Every library samples the same state, threshold patterns ("thr") and photon
numbers ("PNR"), in one run.

How the times are measured
--------------------------
* ``per sample`` = total wall time of the sampling calls / total samples.  A
  sampler is called with 1 shot, then with growing shot counts (each call
  spends about half of what is left of its time budget, at most 8 times the
  previous call) until the budget (``--our-budget`` for ours,
  ``--peer-budget`` for every peer) or ``--max-shots`` is used up.  So any
  cost a library pays once per call (piquasso's Williamson decomposition, our
  sampler construction inside ``Experiment.sample``) is included, amortised
  over the shots of the call; thewalrus repeats its decomposition for every
  sample, which is part of its per-sample cost.
* ``setup`` (separate table) = the one-off preparation of each library,
  timed on its own: ours ``Experiment.output_state()`` + the sampler of the
  route "auto" picks (click chain rule or ``PhotonNumberSampler``) on a fresh
  experiment; piquasso building the circuit and evolving the
  state (``execute`` without a measurement); piquassoboost the
  ``ThresholdBosonSampling`` constructor; Strawberry Fields the program and
  engine.  thewalrus has no setup step (its JIT compilation is reported once,
  in the header, and excluded: every peer first samples small states of both
  cases, see :func:`warm_up`).
* ``ratio`` = peer per-sample time / our per-sample time (ours = the public
  ``Experiment.sample(shots, rng=seed)``, one process, one thread).
  **ratio > 1 means we are faster.**  ``best`` is the smallest ratio over the
  peers (the fastest peer).  ``> B`` in a peer's column: not run at that M,
  because its time extrapolated from the smaller M exceeds its budget B.
* ``ours Nt``: the route "auto" picks (click chain rule for these threshold
  cases, photon-number sampler for PNR) with ``n_threads`` = ``--threads``
  (shots run in parallel), turned into patterns by the detector model exactly
  as ``Experiment.sample`` does (or ``Experiment.sample(..., n_threads=)`` if
  the installed version takes that argument).

Our sampler has no photon-number cutoff, so a rare bright sample can take
long: our measurements run in a child process that is killed after
``3 x --our-budget + 30`` s; a killed run counts its unfinished call in the
time and is shown as ``>= t``.

Sanity tables: mean clicks (threshold) and mean photon number (PNR) of each
library's samples, +- one standard error, against our exact values
(``Experiment.mean_clicks()``, ``mean_photon_number()``); ``!`` marks a
deviation of more than 5 standard errors.  The peers truncate (see the
``truncation`` lines); ours does not.

``--largest``: the largest Jiuzhang-like experiment
(``presets.jiuzhang_like``: two-mode squeezers with Jiuzhang 1.0's mean
published squeezing, Haar-random interferometer, Jiuzhang 1.0's mean
transmission 0.2937, threshold detectors) that we sample at >= 1 sample per
second: n_modes = 16, 24, 32, ... (``--largest-start``, ``--largest-step``),
each timed for ``--largest-window`` seconds with ``--threads`` threads in a
child process, until one is slower (then 2-mode steps below the first slow
size are tried, if the budget ``--largest-budget`` allows).

Usage::

    python benchmarks/samplers.py                      # full run, ~10-20 minutes
    python benchmarks/samplers.py --quick              # smoke run, M = 8, 12, ~1-2 minutes
    python benchmarks/samplers.py --cases b --modes 16 20 --peer-budget 20
    python benchmarks/samplers.py --largest            # also the Jiuzhang-like scan
    python benchmarks/samplers.py --json /tmp/samplers.json

Threads: ``--threads`` (default: all usable cores) is exported as
``NUMBA_NUM_THREADS`` and ``OMP_NUM_THREADS`` (and the BLAS variables) before
numpy or numba are imported, as in ``benchmarks/kernels.py``; it is the
thread count of ``ours Nt``.  ``ours`` (``Experiment.sample``) runs one
thread, and so do the peers unless ``--peer-threads`` says otherwise: their
parallel kernels parallelise inside one sample, which at these sizes costs
more than it gains, and on a machine with a busy core thewalrus's numba
``parallel=True`` loops became 10-100x slower and erratic.
"""
import argparse
import contextlib
import inspect
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Callable, NamedTuple

from _common import (background_load, base_versions, cpu_info, json_default,
                     set_thread_environment, usable_cores)

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


if __name__ == "__main__":
    set_thread_environment(sys.argv[1:])

import numpy as np  # noqa: E402 - after the thread environment is set

import jiuzhang_emu as je  # noqa: E402
from jiuzhang_emu.presets import jiuzhang_like, random_experiment  # noqa: E402
from jiuzhang_emu import samplers  # noqa: E402
from jiuzhang_emu.samplers.exact import PhotonNumberSampler  # noqa: E402
from jiuzhang_emu.samplers.threshold_chain import ThresholdChainSampler  # noqa: E402

# The peers are imported by load_peers() (in main), not here: the child
# processes that time our sampler import this module and need none of them.

CASES = {
    "a": {"r": 0.5, "transmission": 1.0, "label": "(a) pure, r = 0.5"},
    "b": {"r": 1.0, "transmission": 0.5, "label": "(b) lossy, r = 1.0, transmission 0.5"},
}
DEFAULT_MODES = [8, 12, 16, 20]
QUICK_MODES = [8, 12]
WARMUP_MODES = 4                 # our child process's first call (imports, allocations)
WARMUP_SIZES = (4, 8)            # every peer samples these sizes of both cases first ...
WARMUP_SHOTS = 20                # ... this many samples each (numba JIT)
SANITY_SIGMAS = 5.0              # flag sampled means this many standard errors off
LARGEST_TARGET = 1.0             # --largest: samples per second to reach
OUR_TIMEOUT_FACTOR = 3.0         # our child process is killed after
OUR_TIMEOUT_GRACE = 30.0         # factor x budget + grace seconds


# ------------------------------------------------------------ experiments ---

def case_experiment(case, n_modes, detectors, seed):
    """The experiment of ``case`` ("a"/"b") with ``n_modes`` modes."""
    params = CASES[case]
    return random_experiment(n_modes, r=params["r"], transmission=params["transmission"],
                             detectors=detectors, rng=[seed, n_modes])


def case_inputs(case, n_modes, seed):
    """Everything the samplers need for one case and size.

    Returns
    -------
    dict
        ``M``, ``r``, ``transmission``; ``cov`` (xxpp, hbar = 2, vacuum = I),
        ``U`` (the interferometer: output b = sqrt(t) U a), the exact
        ``mean_clicks`` and ``mean_photons``, and ``spec`` (how our child
        process rebuilds the experiment).
    """
    params = CASES[case]
    thr = case_experiment(case, n_modes, "threshold", seed)
    pnr = case_experiment(case, n_modes, "pnr", seed)
    if not np.array_equal(thr.transfer_matrix, pnr.transfer_matrix):
        raise RuntimeError("threshold and PNR experiments differ")
    state = thr.output_state()
    if np.any(np.asarray(state.means) != 0):
        raise RuntimeError("the benchmark states are not displaced")
    t = params["transmission"]
    return {
        "M": n_modes, "r": params["r"], "transmission": t,
        "cov": np.array(state.cov, dtype=np.float64),
        "U": np.asarray(thr.transfer_matrix).T / np.sqrt(t),
        "mean_clicks": thr.mean_clicks(), "mean_photons": thr.mean_photon_number(),
        "spec": {"preset": "random_experiment", "n_modes": n_modes, "r": params["r"],
                 "transmission": t, "rng": [seed, n_modes]},
    }


def build_experiment(spec, detectors):
    """Rebuild an experiment from its ``spec`` (in the child process)."""
    build = random_experiment if spec["preset"] == "random_experiment" else jiuzhang_like
    return build(spec["n_modes"], r=spec["r"], transmission=spec["transmission"],
                 detectors=detectors, rng=spec["rng"])


# ------------------------------------------------------- timing machinery ---

def next_shots(shots_done, time_done, last_shots, budget, max_shots):
    """Shots of the next call, or 0 to stop.

    Each call spends about half of the remaining budget, at most 8 times the
    previous call (the time per sample has a heavy tail); stop when less
    than a tenth of the budget is left or ``max_shots`` are done.
    """
    remaining = budget - time_done
    if shots_done >= max_shots or remaining < 0.1 * budget:
        return 0
    per_sample = max(time_done / max(shots_done, 1), 1e-7)
    if per_sample > remaining:
        return 0
    return int(max(1, min(0.5 * remaining / per_sample, 8 * last_shots,
                          max_shots - shots_done)))


class Tally:
    """Running sums of clicks and photons per sample (for the sanity tables)."""

    def __init__(self):
        self.n = 0
        self.sums = {"clicks": [0.0, 0.0], "photons": [0.0, 0.0]}

    def add(self, patterns, kind):
        patterns = np.asarray(patterns)
        if patterns.size == 0:
            return
        clicks = (patterns > 0).sum(axis=1).astype(float)
        self.n += len(patterns)
        values = {"clicks": clicks}
        if kind == "pnr":
            values["photons"] = patterns.sum(axis=1).astype(float)
        for key, v in values.items():
            self.sums[key][0] += v.sum()
            self.sums[key][1] += (v * v).sum()

    def stats(self):
        """{"clicks": (mean, stderr), "photons": ...} (photons for PNR only)."""
        out = {"n": self.n}
        for key, (s1, s2) in self.sums.items():
            if self.n and (s1 or s2 or key == "clicks"):
                mean = s1 / self.n
                var = max(s2 / self.n - mean * mean, 0.0)
                out[key] = (mean, math.sqrt(var / max(self.n - 1, 1)))
        return out


def run_calls(draw, kind, budget, max_shots, seed, report=None):
    """Call ``draw(shots, seed)`` with growing shot counts (see :func:`next_shots`).

    Parameters
    ----------
    draw : callable
        ``draw(shots, seed) -> patterns`` of shape (shots, M).
    kind : {"thr", "pnr"}
    report : callable, optional
        Called with a dict before (``start``) and after (``shots``,
        ``seconds``) every call: the child process streams them to its parent.

    Returns
    -------
    dict
        ``calls`` [(shots, seconds)], ``shots``, ``seconds``, ``per_sample``
        and the sanity ``stats``.
    """
    calls, tally = [], Tally()
    shots, done, spent = 1, 0, 0.0
    while shots:
        if report:
            report({"start": shots, "wall": time.time()})
        start = time.perf_counter()
        patterns = draw(shots, seed + len(calls))
        elapsed = time.perf_counter() - start
        calls.append((shots, elapsed))
        done, spent = done + shots, spent + elapsed
        tally.add(patterns, kind)
        if report:
            report({"shots": shots, "seconds": elapsed, "stats": tally.stats()})
        shots = next_shots(done, spent, shots, budget, max_shots)
    return {"calls": calls, "shots": done, "seconds": spent, "per_sample": spent / done,
            "stats": tally.stats()}


# ------------------------------------------------------------------- ours ---

def our_draw(experiment, variant, threads):
    """``draw(shots, seed)`` of our sampler.

    variant "ours": the public ``Experiment.sample`` (one process, the
    sampler's default single thread).  variant "ours Nt": the route "auto"
    picks with ``threads`` threads over the shots: the click chain rule, or
    the photon-number sampler coarse-grained by the detector model
    (``Experiment.sample(..., n_threads=threads)`` if it takes that argument).
    """
    if variant == "ours":
        return lambda shots, seed: experiment.sample(shots, rng=seed).patterns
    if "n_threads" in inspect.signature(experiment.sample).parameters:
        return lambda shots, seed: experiment.sample(shots, rng=seed,
                                                     n_threads=threads).patterns
    detector = experiment.detector
    dark = detector.dark_counts(experiment.n_modes)
    if samplers.check_method("auto", experiment) == "threshold-chain":
        chain = ThresholdChainSampler(experiment)

        def draw(shots, seed):
            rng = np.random.default_rng(seed)
            clicks = chain.clicks(rng.random((shots, experiment.n_modes)), n_threads=threads)
            return detector.detect(clicks, dark, rng)
        return draw
    sampler = PhotonNumberSampler(experiment.output_state())

    def draw(shots, seed):
        rng = np.random.default_rng(seed)
        photons = sampler.sample(rng, shots, n_threads=threads)
        photons = photons.reshape(shots, experiment.internal_modes,
                                  experiment.n_modes).sum(axis=1)
        return detector.detect(photons, dark, rng)
    return draw


def our_setup(spec, detectors):
    """Seconds to build a fresh experiment's output state and the sampler of
    the route "auto" picks (the route choice itself included)."""
    start = time.perf_counter()
    experiment = build_experiment(spec, detectors)
    samplers.route_sampler(experiment, samplers.check_method("auto", experiment))
    return time.perf_counter() - start


def our_worker(job):
    """Child-process entry: time our sampler for one job, streaming JSON
    lines to ``job["out"]`` (see :func:`run_ours`)."""
    with open(job["out"], "a") as out:
        def report(record):
            out.write(json.dumps(record, default=json_default) + "\n")
            out.flush()

        warm = dict(job["spec"], n_modes=WARMUP_MODES, rng=[0, WARMUP_MODES])  # even
        warm_exp = build_experiment(warm, job["detectors"])
        our_draw(warm_exp, job["variant"], job["threads"])(2, 1)  # first-call costs
        setups = sorted(our_setup(job["spec"], job["detectors"]) for _ in range(3))
        report({"setup": setups[1]})
        experiment = build_experiment(job["spec"], job["detectors"])
        draw = our_draw(experiment, job["variant"], job["threads"])
        result = run_calls(draw, job["kind"], job["budget"], job["max_shots"], job["seed"],
                           report)
        report({"done": True, "per_sample": result["per_sample"]})


CHILD_CODE = ("import json, sys; sys.path.insert(0, sys.argv[1]); import samplers; "
              "samplers.our_worker(json.loads(sys.argv[2]))")


def run_ours(spec, variant, kind, budget, max_shots, seed, threads):
    """Time our sampler in a child process, killed if it overruns.

    Returns
    -------
    dict
        As :func:`run_calls` plus ``setup``; a killed run has ``killed``
        True, counts its unfinished call's time in ``seconds`` and
        ``per_sample`` (a lower bound then), or has ``error``.
    """
    detectors = "threshold" if kind == "thr" else "pnr"
    timeout = OUR_TIMEOUT_FACTOR * budget + OUR_TIMEOUT_GRACE
    fd, path = tempfile.mkstemp(prefix="samplers-bench-", suffix=".jsonl")
    os.close(fd)
    job = {"spec": spec, "variant": variant, "kind": kind, "detectors": detectors,
           "budget": budget, "max_shots": max_shots, "seed": seed, "threads": threads,
           "out": path}
    # cwd: "python -c" puts the working directory first on sys.path, and from
    # the repository root that would import the unbuilt source tree
    proc = subprocess.Popen([sys.executable, "-c", CHILD_CODE, BENCH_DIR, json.dumps(job)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=BENCH_DIR)
    killed = False
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        killed = True
    kill_wall = time.time()
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    os.unlink(path)
    result = {"calls": [], "shots": 0, "seconds": 0.0, "killed": killed}
    pending = None
    for rec in records:
        if "setup" in rec:
            result["setup"] = rec["setup"]
        elif "start" in rec:
            pending = rec
        elif "seconds" in rec:
            result["calls"].append((rec["shots"], rec["seconds"]))
            result["shots"] += rec["shots"]
            result["seconds"] += rec["seconds"]
            result["stats"] = rec["stats"]
            pending = None
    if killed and pending is not None:
        result["unfinished"] = {"shots": pending["start"],
                                "seconds": kill_wall - pending["wall"]}
        result["seconds"] += kill_wall - pending["wall"]
    if result["shots"]:
        result["per_sample"] = result["seconds"] / result["shots"]
    elif killed and pending is not None:
        result["per_sample"] = result["seconds"] / pending["start"]
    if not killed and proc.returncode != 0:
        last = (stderr or "").strip().splitlines()
        result["error"] = last[-1] if last else f"exit code {proc.returncode}"
    return result


# ------------------------------------------------------------------ peers ---

class Peer(NamedTuple):
    """One peer sampler.

    Attributes
    ----------
    column : str
        Table column, e.g. "thewalrus".
    kind : {"thr", "pnr"}
    call : str
        The call timed, as printed.
    truncation : str
        How it truncates ("" when exact).
    prepare : callable
        ``prepare(inputs) -> prepared`` (timed as the setup).
    draw : callable
        ``draw(prepared, shots, seed) -> patterns``.
    has_setup : bool
        Whether ``prepare`` is a real setup step (else the setup shows "-").
    """

    column: str
    kind: str
    call: str
    truncation: str
    prepare: Callable
    draw: Callable
    has_setup: bool = True


PEERS = {}          # module name -> imported module, or an error string
JIT_SECONDS = {}    # peer column -> first-call seconds (warm-up)


def load_peers():
    """Import the optional peers; PEERS[name] is the module or why not."""
    def attempt(name, importer):
        try:
            PEERS[name] = importer()
        except ImportError as exc:
            PEERS[name] = f"not installed ({exc.name or exc})"
        except Exception as exc:  # noqa: BLE001 - a broken install is reported
            PEERS[name] = f"import failed: {type(exc).__name__}: {exc}"

    def thewalrus_samples():
        import thewalrus.samples
        return thewalrus.samples

    def piquassoboost_threshold():
        try:
            from piquassoboost.sampling.simulation_strategies.ThresholdBosonSampling import (
                ThresholdBosonSampling)
        except ImportError:
            from piquassoboost.sampling.simulation_strategies import ThresholdBosonSampling
            ThresholdBosonSampling = getattr(ThresholdBosonSampling, "ThresholdBosonSampling",
                                             ThresholdBosonSampling)
        return ThresholdBosonSampling

    attempt("thewalrus", thewalrus_samples)
    attempt("piquasso", lambda: __import__("piquasso"))
    attempt("piquassoboost", piquassoboost_threshold)
    attempt("strawberryfields", lambda: __import__("strawberryfields"))


def available(name):
    return not isinstance(PEERS.get(name), (str, type(None)))


def default_of(function, name):
    """Default value of a function's keyword argument."""
    return inspect.signature(function).parameters[name].default


def thewalrus_peers():
    tw = PEERS["thewalrus"]
    tor, haf = tw.torontonian_sample_state, tw.hafnian_sample_state
    tor_note = (f"max_photons={default_of(tor, 'max_photons')} clicks (more: rejected), "
                f"threshold detection approximated by a fanout={default_of(tor, 'fanout')} "
                f"split with cutoff={default_of(tor, 'cutoff')} photon per sub-mode")
    haf_note = (f"cutoff={default_of(haf, 'cutoff')} photons per mode (0..cutoff, "
                "renormalised; a sample whose last mode reaches the cutoff is redrawn), "
                f"max_photons={default_of(haf, 'max_photons')} in total (more: redrawn)")

    def draw(fn):
        def run(prepared, shots, seed):
            np.random.seed(seed)  # thewalrus samples from numpy's global generator
            return np.asarray(fn(prepared, shots, hbar=2), dtype=np.int64)
        return run

    return [
        Peer("thewalrus", "thr", "thewalrus.samples.torontonian_sample_state(cov, shots, hbar=2)",
             tor_note, lambda x: x["cov"], draw(tor), has_setup=False),
        Peer("thewalrus", "pnr", "thewalrus.samples.hafnian_sample_state(cov, shots, hbar=2)",
             haf_note, lambda x: x["cov"], draw(haf), has_setup=False),
    ]


def piquasso_program(x, measurement=None):
    """The benchmark circuit in piquasso: Squeezing(r) on every mode,
    Interferometer(U), Attenuator(theta) with cos^2 theta = transmission.

    Conventions checked by :func:`piquasso_convention_check`: piquasso's
    Squeezing is Strawberry Fields' Sgate, Interferometer(U) maps a -> U a,
    Attenuator scales the amplitudes by cos theta, and with hbar = 2 its
    covariance is twice ours (vacuum 2 I).
    """
    pq = PEERS["piquasso"]
    M, t = x["M"], x["transmission"]
    with pq.Program() as program:
        pq.Q() | pq.Vacuum()
        for mode in range(M):
            pq.Q(mode) | pq.Squeezing(r=x["r"])
        pq.Q(all) | pq.Interferometer(x["U"])
        if t < 1:
            for mode in range(M):
                pq.Q(mode) | pq.Attenuator(theta=float(np.arccos(np.sqrt(t))))
        if measurement is not None:
            pq.Q(all) | measurement
    return program


def piquasso_convention_check(x):
    """Max |piquasso covariance - 2 x ours| (xxpp) for the circuit of ``x``."""
    pq = PEERS["piquasso"]
    state = pq.GaussianSimulator(d=x["M"]).execute(piquasso_program(x)).state
    return float(np.abs(state.xxpp_covariance_matrix - 2 * x["cov"]).max())


def piquasso_peers():
    pq = PEERS["piquasso"]
    cutoff = pq.Config().measurement_cutoff
    pnr_note = (f"measurement_cutoff={cutoff}: 0..{cutoff - 1} photons per mode, "
                "renormalised (no rejection)")

    def prepare(measurement, **config):
        def run(x):
            program = piquasso_program(x, measurement())
            pq.GaussianSimulator(d=x["M"]).execute(piquasso_program(x))  # state evolution
            return x["M"], program, config
        return run

    def draw(prepared, shots, seed):
        M, program, config = prepared
        simulator = pq.GaussianSimulator(d=M, config=pq.Config(seed_sequence=seed, **config))
        return np.asarray(simulator.execute(program, shots=shots).samples, dtype=np.int64)

    return [
        Peer("piquasso", "thr", "pq.GaussianSimulator(d=M, config=pq.Config(seed_sequence="
             "seed)).execute(program + pq.ThresholdMeasurement(), shots)",
             pnr_note + ", then clicks", prepare(pq.ThresholdMeasurement), draw),
        Peer("piquasso tor", "thr", "same with pq.Config(use_torontonian=True) (exact "
             "torontonian chain rule)", "", prepare(pq.ThresholdMeasurement,
                                                    use_torontonian=True), draw),
        Peer("piquasso", "pnr", "pq.GaussianSimulator(...).execute(program + "
             "pq.ParticleNumberMeasurement(), shots)", pnr_note,
             prepare(pq.ParticleNumberMeasurement), draw),
    ]


def piquassoboost_peers():
    cls = PEERS["piquassoboost"]

    def draw(prepared, shots, seed):
        # a fresh object per call: its probability cache lives within a call,
        # as our sampler is rebuilt by every Experiment.sample call
        return np.asarray(cls(covariance_matrix=prepared).simulate(shots), dtype=np.int64)

    # piquassoboost takes piquasso's xxpp covariance / (2 hbar): ours / 2 (vacuum I / 2)
    return [Peer("piquassoboost", "thr",
                 "ThresholdBosonSampling(covariance_matrix=cov / 2).simulate(shots)", "",
                 lambda x: np.ascontiguousarray(x["cov"] / 2), draw)]


def strawberryfields_peers():
    sf = PEERS["strawberryfields"]

    def prepare(measurement):
        def run(x):
            program = sf.Program(x["M"])
            with program.context as q:
                sf.ops.Gaussian(x["cov"]) | q  # xxpp, sf.hbar = 2 as ours
                measurement() | q
            return program
        return run

    def draw(program, shots, seed):
        np.random.seed(seed)  # its samplers are thewalrus's
        return np.asarray(sf.Engine("gaussian").run(program, shots=shots).samples,
                          dtype=np.int64)

    note = "thewalrus's samplers (see above) with Strawberry Fields' defaults"
    return [
        Peer("SF", "thr", "sf.Engine('gaussian').run(Gaussian(cov) + MeasureThreshold(), "
             "shots=shots)", note, prepare(lambda: sf.ops.MeasureThreshold()), draw),
        Peer("SF", "pnr", "sf.Engine('gaussian').run(Gaussian(cov) + MeasureFock(), "
             "shots=shots)", note, prepare(lambda: sf.ops.MeasureFock()), draw),
    ]


PEER_BUILDERS = {"thewalrus": thewalrus_peers, "piquasso": piquasso_peers,
                 "piquassoboost": piquassoboost_peers, "strawberryfields": strawberryfields_peers}

# Column order of the tables: (column, peer module) per kind.
THR_PEER_COLUMNS = (("thewalrus", "thewalrus"), ("piquasso", "piquasso"),
                    ("piquasso tor", "piquasso"), ("piquassoboost", "piquassoboost"),
                    ("SF", "strawberryfields"))
PNR_PEER_COLUMNS = (("thewalrus", "thewalrus"), ("piquasso", "piquasso"),
                    ("SF", "strawberryfields"))


def all_peers():
    peers = []
    for name, build in PEER_BUILDERS.items():
        if available(name):
            peers += build()
    return peers


def warm_up(peers, seed):
    """Run every peer on small states of both cases before timing.

    numba compiles thewalrus's functions lazily, per code path: a 4-mode
    state does not reach them all (a first call at 12 modes still took
    ~0.4 s per sample, later ones 3 ms), so every peer draws
    ``WARMUP_SHOTS`` samples at each of ``WARMUP_SIZES`` in both cases.
    Records each peer's total warm-up seconds in JIT_SECONDS.
    """
    inputs = [case_inputs(case, n_modes, seed) for n_modes in WARMUP_SIZES for case in CASES]
    for peer in peers:
        key = f"{peer.column} {peer.kind}"
        start = time.perf_counter()
        try:
            for x in inputs:
                peer.draw(peer.prepare(x), WARMUP_SHOTS, 1)
        except Exception as exc:  # noqa: BLE001 - reported in the header
            JIT_SECONDS[key] = f"error: {type(exc).__name__}: {exc}"
            continue
        JIT_SECONDS[key] = time.perf_counter() - start


def set_peer_threads(n_threads):
    """Run the peers with ``n_threads`` threads; returns a description.

    thewalrus's sampling kernels (loop_hafnian_batch*) are numba
    ``parallel=True``: set with ``numba.set_num_threads`` (at most
    NUMBA_NUM_THREADS = --threads).  piquasso's C++ is OpenMP: set with
    ``omp_set_num_threads`` of the libgomp bundled with it (its samplers
    run in the main thread, whose setting that is).
    """
    parts = []
    try:
        import numba
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        parts.append(f"numba.set_num_threads -> {numba.get_num_threads()} (thewalrus, SF)")
    except ImportError:
        pass
    if available("piquasso"):
        import ctypes
        import glob
        root = os.path.dirname(os.path.dirname(PEERS["piquasso"].__file__))
        libs = glob.glob(os.path.join(root, "piquasso.libs", "libgomp*.so*"))
        try:
            lib = ctypes.CDLL(libs[0])
            lib.omp_set_num_threads(n_threads)
            parts.append(f"piquasso's libgomp omp_set_num_threads -> {lib.omp_get_max_threads()}")
        except (IndexError, OSError):
            parts.append("piquasso: bundled libgomp not found, OMP_NUM_THREADS="
                         f"{os.environ.get('OMP_NUM_THREADS')}")
    return "; ".join(parts)


def extrapolate(history, n_modes):
    """Predicted per-sample seconds at ``n_modes`` from (M, seconds) history:
    the growth between the last two sizes, or x2 per 4 modes."""
    if not history:
        return None
    (m1, t1) = history[-1]
    if len(history) >= 2 and history[-2][1] > 0 and t1 > history[-2][1]:
        m0, t0 = history[-2]
        rate = (t1 / t0) ** (1.0 / (m1 - m0))
    else:
        rate = 2 ** 0.25
    return t1 * rate ** (n_modes - m1)


def run_peer(peer, x, budget, max_shots, seed, history):
    """Setup and per-sample time of one peer at one size (in this process)."""
    estimate = extrapolate(history, x["M"])
    if estimate is not None and estimate > budget:
        return {"skipped": True, "estimate": estimate, "budget": budget}
    try:
        start = time.perf_counter()
        prepared = peer.prepare(x)
        setup = time.perf_counter() - start
        result = run_calls(lambda shots, s: peer.draw(prepared, shots, s), peer.kind,
                           budget, max_shots, seed)
    except Exception as exc:  # noqa: BLE001 - report and carry on
        return {"error": f"{type(exc).__name__}: {exc}"}
    result["setup"] = setup if peer.has_setup else None
    history.append((x["M"], result["per_sample"]))
    return result


# ---------------------------------------------------------- measurements ---

def measure_case(case, modes, peers, args, threads):
    """Time ours and every peer for one case over ``modes``.

    Returns
    -------
    list of dict
        Per size: ``M``, exact ``mean_clicks`` and ``mean_photons``,
        ``piquasso_cov_diff`` and ``results`` {"thr"/"pnr": {column: result}}.
    """
    rows, histories = [], {}
    our_variants = ("ours", f"ours {threads}t")
    for n_modes in modes:
        x = case_inputs(case, n_modes, args.seed)
        row = {"M": n_modes, "mean_clicks": x["mean_clicks"], "mean_photons": x["mean_photons"],
               "results": {"thr": {}, "pnr": {}}}
        if available("piquasso"):
            row["piquasso_cov_diff"] = piquasso_convention_check(x)
        for kind in ("thr", "pnr"):
            for variant in our_variants:
                res = run_ours(x["spec"], "ours" if variant == "ours" else "ours Nt", kind,
                               args.our_budget, args.our_max_shots, args.seed, threads)
                row["results"][kind][variant] = res
                progress(f"{case} M={n_modes} {kind} {variant}", res)
            for peer in (p for p in peers if p.kind == kind):
                history = histories.setdefault((peer.column, kind), [])
                res = run_peer(peer, x, args.peer_budget, args.peer_max_shots, args.seed,
                               history)
                res["call"] = peer.call
                row["results"][kind][peer.column] = res
                progress(f"{case} M={n_modes} {kind} {peer.column}", res)
        rows.append(row)
    return rows


def progress(label, res):
    """One line on stderr per measurement."""
    if res.get("skipped"):
        what = f"skipped (estimate {res['estimate']:.3g} s/sample)"
    elif "error" in res:
        what = f"error {res['error']}"
    elif "per_sample" in res:
        what = f"{res['per_sample']:.3g} s/sample over {res['shots']} samples"
        if res.get("killed"):
            what += " (killed)"
    else:
        what = "no sample"
    print(f"   [{label}: {what}]", file=sys.stderr, flush=True)


# ------------------------------------------------------------ --largest ---

def jiuzhang1_mean_squeezing():
    """Mean published squeezing r of Jiuzhang 1.0's 25 sources."""
    from jiuzhang_emu.presets import jiuzhang1
    return float(np.mean([source.r for source in jiuzhang1().sources]))


def largest_experiment(args, threads):
    """Scan Jiuzhang-like sizes for the largest sampled at >= 1 sample/s.

    Each size is timed for ``--largest-window`` seconds (budget) in a child
    process (killed after 3 x window + 30 s) with the "ours Nt" variant: the
    route "auto" picks (for bright light, the click chain rule) with
    ``threads`` threads over the shots.

    Returns
    -------
    dict
        Parameters, the per-size results and ``largest`` (modes, exact and
        sampled mean clicks, samples per second) or None.
    """
    r = args.largest_r if args.largest_r else jiuzhang1_mean_squeezing()
    t = args.largest_transmission
    report = {"r": r, "transmission": t, "window": args.largest_window, "threads": threads,
              "sizes": []}
    started = time.perf_counter()

    def try_size(n_modes):
        spec = {"preset": "jiuzhang_like", "n_modes": n_modes, "r": r, "transmission": t,
                "rng": [args.seed, n_modes]}
        exp = build_experiment(spec, "threshold")
        res = run_ours(spec, "ours Nt", "thr", args.largest_window, 10**9, args.seed, threads)
        rate = res["shots"] / res["seconds"] if res.get("seconds") else 0.0
        entry = {"n_modes": n_modes, "mean_clicks": exp.mean_clicks(),
                 "mean_photons": exp.mean_photon_number(), "samples": res["shots"],
                 "seconds": res.get("seconds", 0.0), "samples_per_second": rate,
                 "killed": res.get("killed", False), "error": res.get("error"),
                 "sampled_clicks": res.get("stats", {}).get("clicks")}
        entry["passes"] = rate >= LARGEST_TARGET and not entry["error"]
        report["sizes"].append(entry)
        print(f"   [largest: {n_modes} modes, mean clicks {entry['mean_clicks']:.2f}: "
              f"{rate:.3g} samples/s over {res['shots']} samples"
              f"{' (killed)' if entry['killed'] else ''}]", file=sys.stderr, flush=True)
        return entry["passes"]

    def budget_left():
        return time.perf_counter() - started < args.largest_budget

    best, first_fail = None, None
    n_modes = args.largest_start
    while n_modes <= args.largest_max and budget_left():
        if try_size(n_modes):
            best = n_modes
            n_modes += args.largest_step
        else:
            first_fail = n_modes
            break
    # refine below the first slow size in 2-mode steps (or below the start)
    if first_fail is not None:
        lower = best if best is not None else 0
        for n in range(first_fail - 2, lower, -2):
            if n < 2 or not budget_left():
                break
            if try_size(n):
                best = n
                break
    report["first_too_slow"] = first_fail
    report["budget_exhausted"] = not budget_left()
    report["largest"] = next((e for e in report["sizes"] if e["n_modes"] == best), None)
    return report


def print_largest(report):
    print(f"\n## Largest Jiuzhang-like experiment sampled at >= {LARGEST_TARGET:g} sample/s")
    print(f"   presets.jiuzhang_like(n_modes, r={report['r']:.4g}, "
          f"transmission={report['transmission']:g}, detectors='threshold'): two-mode "
          "squeezers (Jiuzhang 1.0's mean published r), Haar-random interferometer; "
          f"{report['threads']} threads, {report['window']:g} s window per size")
    rows = []
    for e in report["sizes"]:
        sampled = e["sampled_clicks"]
        rows.append([e["n_modes"], f"{e['mean_clicks']:.2f}", f"{e['mean_photons']:.1f}",
                     fmt_mean(sampled), e["samples"], f"{e['seconds']:.1f}",
                     f"{e['samples_per_second']:.3g}" + (" (killed)" if e["killed"] else ""),
                     "yes" if e["passes"] else ("error" if e["error"] else "no")])
    print_table(["modes", "mean clicks", "mean photons", "sampled clicks", "samples",
                 "seconds", "samples/s", ">= 1/s"], rows)
    best = report["largest"]
    if best:
        print(f"largest: {best['n_modes']} modes, mean clicks {best['mean_clicks']:.2f} "
              f"(mean photons {best['mean_photons']:.1f}), "
              f"{best['samples_per_second']:.3g} samples/s")
    else:
        print("largest: none of the sizes tried reaches 1 sample/s")
    if report["budget_exhausted"]:
        print("   (--largest-budget used up; the scan may have stopped early)")


# ------------------------------------------------------------- reporting ---

def print_table(columns, rows):
    """Print a table with right-aligned columns sized to their content."""
    cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    head = " | ".join(c.rjust(w) for c, w in zip(cells[0], widths))
    print(head)
    print("-" * len(head))
    for row in cells[1:]:
        print(" | ".join(c.rjust(w) for c, w in zip(row, widths)))


def fmt_seconds(res):
    """Table cell for a per-sample time."""
    if res is None:
        return "n/i"
    if res.get("skipped"):
        return f"> {res['budget']:g}"
    if "error" in res:
        return "error"
    if "per_sample" not in res:
        return "-"
    return (">= " if res.get("killed") else "") + f"{res['per_sample']:.3g}"


def fmt_ratio(res, ours):
    """Peer / ours per-sample time."""
    if res is None or ours is None or "per_sample" not in ours:
        return "-"
    if res.get("skipped"):
        return f"> {res['budget'] / ours['per_sample']:.3g}"
    if "per_sample" not in res:
        return "-"
    prefix = "<= " if ours.get("killed") else ""
    return prefix + f"{res['per_sample'] / ours['per_sample']:.3g}"


def fmt_mean(value):
    if not value:
        return "-"
    mean, err = value
    return f"{mean:.2f}+-{err:.2f}"


def best_ratio(results, columns, ours):
    """Smallest peer/ours ratio over the timed peers (the fastest peer)."""
    if "per_sample" not in ours:
        return None
    ratios = [(results[c]["per_sample"] / ours["per_sample"], c) for c, _ in columns
              if c in results and "per_sample" in results[c]]
    if not ratios:
        return None
    return min(ratios)


def speed_table(rows, kind, threads):
    """Print the per-sample table of one kind; returns the goal verdicts."""
    columns = THR_PEER_COLUMNS if kind == "thr" else PNR_PEER_COLUMNS
    nt = f"ours {threads}t"
    head = ["M", "mean clicks" if kind == "thr" else "mean photons", "ours (s)", f"{nt} (s)"]
    for column, _ in columns:
        head += [f"{column} (s)", "ratio"]
    head += ["best peer/ours"]
    table, verdicts = [], []
    for row in rows:
        results = row["results"][kind]
        ours = results.get("ours", {})
        cells = [row["M"], f"{row['mean_clicks' if kind == 'thr' else 'mean_photons']:.2f}",
                 fmt_seconds(ours), fmt_seconds(results.get(nt))]
        for column, module in columns:
            res = results.get(column) if available(module) else None
            cells += [fmt_seconds(res), fmt_ratio(res, ours)]
        best = best_ratio(results, columns, ours)
        cells.append("-" if best is None else f"{best[0]:.3g} ({best[1]})")
        table.append(cells)
        verdicts.append((row["M"], best))
    print_table(head, table)
    return verdicts


def setup_table(rows, threads):
    """Print the setup seconds of every library (one row per M and kind)."""
    head = ["M", "kind", "ours", f"ours {threads}t", "piquasso", "piquasso tor",
            "piquassoboost", "SF"]
    table = []
    for row in rows:
        for kind in ("thr", "pnr"):
            results = row["results"][kind]
            cells = [row["M"], kind]
            for column in head[2:]:
                res = results.get(column)
                if res is None:
                    cells.append("-")
                elif "setup" in res and res["setup"] is not None:
                    cells.append(f"{res['setup']:.3g}")
                else:
                    cells.append("-")
            table.append(cells)
    print_table(head, table)


def sanity_table(rows, kind, threads):
    """Print each library's sampled mean clicks / photons against the exact value."""
    key = "clicks" if kind == "thr" else "photons"
    exact_key = "mean_clicks" if kind == "thr" else "mean_photons"
    columns = ["ours", f"ours {threads}t"] + [c for c, m in (
        THR_PEER_COLUMNS if kind == "thr" else PNR_PEER_COLUMNS) if available(m)]
    head = ["M", f"exact {key}"] + columns
    if kind == "thr":
        head.append("piquasso cov check")
    table, flagged = [], []
    for row in rows:
        exact = row[exact_key]
        cells = [row["M"], f"{exact:.3f}"]
        for column in columns:
            res = row["results"][kind].get(column, {})
            value = res.get("stats", {}).get(key)
            cell = fmt_mean(value)
            if value and res["stats"]["n"] >= 20 and abs(value[0] - exact) > SANITY_SIGMAS * max(
                    value[1], 1e-12):
                cell += " !"
                flagged.append((row["M"], column))
            cells.append(cell)
        if kind == "thr":
            diff = row.get("piquasso_cov_diff")
            cells.append("-" if diff is None else f"{diff:.1e}")
        table.append(cells)
    print_table(head, table)
    return flagged


def versions():
    """Versions of the libraries involved."""
    out = base_versions()
    dists = {"thewalrus": "thewalrus", "piquasso": "piquasso",
             "piquassoboost": "piquassoboost", "strawberryfields": "strawberryfields"}
    from importlib import metadata
    for name, dist in dists.items():
        if available(name):
            try:
                out[name] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                out[name] = "installed"
        else:
            out[name] = PEERS.get(name, "not installed")
    return out


def header_lines(args, threads, cpu, load_before, peers):
    vers = versions()
    lines = [
        "=" * 100,
        f"jiuzhang_emu sampler benchmark, {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"machine      : {cpu['model']}, {usable_cores()} usable cores, "
        f"{cpu['mhz'] or '?'} MHz, {platform.platform()}",
        "versions     : " + ", ".join(f"{k} {v}" for k, v in vers.items()),
    ]
    if load_before is not None:
        lines.append(f"other load   : {100 * load_before:.0f} % of all cores busy just before "
                     f"the run (loadavg {os.getloadavg()[0]:.2f}); timings are wall clock")
    lines += [
        f"threads      : {threads} (--threads) exported as NUMBA_NUM_THREADS / "
        "OMP_NUM_THREADS; 'ours' = Experiment.sample (1 process, 1 thread), "
        f"'ours {threads}t' = {threads} sampler threads",
        f"peer threads : {args.peer_threads} (--peer-threads): {args.peer_threads_set}",
        f"budgets      : ours {args.our_budget:g} s (<= {args.our_max_shots} samples), each "
        f"peer {args.peer_budget:g} s (<= {args.peer_max_shots} samples) per size and kind",
        "per sample   : total time of the sampling calls / samples (once-per-call costs "
        "amortised); setup timed separately",
        "ratio        : peer per-sample time / ours; ratio > 1 means we are faster",
        "ours         : exact, no photon-number cutoff (jiuzhang_emu.samplers.exact)",
    ]
    for peer in peers:
        lines.append(f"{peer.column + ' ' + peer.kind:<13}: {peer.call}")
    for peer in peers:
        if peer.truncation:
            lines.append(f"{peer.column} truncates ({peer.kind}): {peer.truncation}")
    for name in PEER_BUILDERS:
        if not available(name):
            lines.append(f"{name:<13}: {PEERS.get(name)}")
    jit = ", ".join(f"{k} {v:.3g} s" if isinstance(v, float) else f"{k} {v}"
                    for k, v in JIT_SECONDS.items())
    lines.append(f"warm-up      : each peer drew {WARMUP_SHOTS} samples at M = "
                 f"{', '.join(map(str, WARMUP_SIZES))} in both cases before timing (numba JIT "
                 f"compile, imports; excluded), seconds: {jit or '-'}")
    lines.append("=" * 100)
    return lines, vers


def goal_lines(verdicts_thr, verdicts_pnr):
    """The issue's goals, as measured."""
    lines = []
    for case, verdicts in verdicts_thr.items():
        misses = [f"M={m} (best peer/ours {b[0]:.3g}, {b[1]})" for m, b in verdicts
                  if b is not None and b[0] <= 1]
        lines.append(f"goal ({case}) threshold faster than every peer at every M: "
                     + ("met" if not misses else "missed at " + ", ".join(misses)))
    for case, verdicts in verdicts_pnr.items():
        misses = [f"M={m} ({b[0]:.3g}x, {b[1]})" for m, b in verdicts
                  if b is not None and b[0] < 3]
        lines.append(f"goal ({case}) PNR >= 3x faster than the fastest peer: "
                     + ("met" if not misses else "missed at " + ", ".join(misses)))
    return lines


# ------------------------------------------------------------------ main ---

def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Time jiuzhang_emu's exact GBS sampling against thewalrus, piquasso, "
                    "piquassoboost and Strawberry Fields.",
        epilog="ratio = peer per-sample time / ours: > 1 means jiuzhang_emu is faster.")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=sorted(CASES),
                        help="(a) pure r = 0.5; (b) r = 1.0, transmission 0.5")
    parser.add_argument("--modes", nargs="+", type=int, help="mode counts M (default 8 12 16 20)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads (default: all usable cores)")
    parser.add_argument("--peer-threads", type=int, default=1,
                        help="threads of the peers (default 1, as Experiment.sample; their "
                             "parallel kernels thrash when a core is busy)")
    parser.add_argument("--our-budget", type=float, default=None, metavar="SECONDS",
                        help="sampling time per size and kind for ours (default 5, quick 1)")
    parser.add_argument("--peer-budget", type=float, default=None, metavar="SECONDS",
                        help="sampling time per size and kind for each peer (default 10, "
                             "quick 1.5)")
    parser.add_argument("--our-max-shots", type=int, default=None,
                        help="most samples per size for ours (default 20000, quick 2000)")
    parser.add_argument("--peer-max-shots", type=int, default=None,
                        help="most samples per size for a peer (default 2000, quick 200)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: M = 8, 12, small budgets")
    parser.add_argument("--seed", type=int, default=2024,
                        help="seed of the unitaries and the samplers (>= 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--largest", action="store_true",
                        help="also find the largest Jiuzhang-like experiment sampled at >= 1/s")
    parser.add_argument("--largest-only", action="store_true",
                        help="only the --largest scan (no comparison tables)")
    parser.add_argument("--largest-start", type=int, default=16)
    parser.add_argument("--largest-step", type=int, default=8)
    parser.add_argument("--largest-max", type=int, default=100)
    parser.add_argument("--largest-r", type=float, default=None,
                        help="squeezing of the two-mode squeezers (default: Jiuzhang 1.0's "
                             "mean published r)")
    parser.add_argument("--largest-transmission", type=float, default=0.2937,
                        help="uniform transmission (default Jiuzhang 1.0's mean, 0.2937)")
    parser.add_argument("--largest-window", type=float, default=None, metavar="SECONDS",
                        help="sampling time per size (default 30, quick 5)")
    parser.add_argument("--largest-budget", type=float, default=900.0, metavar="SECONDS",
                        help="total time of the scan")
    args = parser.parse_args(argv)
    defaults = {"our_budget": (5.0, 1.0), "peer_budget": (10.0, 1.5),
                "our_max_shots": (20000, 2000), "peer_max_shots": (2000, 200),
                "largest_window": (30.0, 5.0)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.modes is None:
        args.modes = QUICK_MODES if args.quick else DEFAULT_MODES
    if any(m < 1 for m in args.modes):
        parser.error("--modes must be >= 1")
    if args.peer_threads < 1:
        parser.error("--peer-threads must be >= 1")
    if args.seed < 1:
        parser.error("--seed must be >= 1 (piquasso replaces a seed of 0 by a random one)")
    if args.largest_start < 2 or args.largest_start % 2 or args.largest_step % 2:
        parser.error("--largest-start and --largest-step must be even (two-mode squeezers)")
    args.largest |= args.largest_only
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # keep stdout and the stderr progress in order
        sys.stdout.reconfigure(line_buffering=True)
    threads = set_thread_environment(argv)

    load_peers()
    peers = all_peers() if not args.largest_only else []
    args.peer_threads_set = set_peer_threads(args.peer_threads)
    cpu = cpu_info()
    load_before = background_load()
    warm_up(peers, args.seed)
    header, vers = header_lines(args, threads, cpu, load_before, peers)
    print("\n".join(header))
    config = io.StringIO()
    with contextlib.redirect_stdout(config):
        je.show_config()
    print("jiuzhang_emu show_config():\n" + config.getvalue().rstrip())

    report = {"header": header, "versions": vers, "threads": threads, "cpu_model": cpu["model"],
              "cpu_mhz": cpu["mhz"], "background_load_before": load_before,
              "jit_seconds": JIT_SECONDS, "cases": {}}
    t_start = time.perf_counter()
    verdicts_thr, verdicts_pnr, flagged = {}, {}, []
    failed = False
    for case in ([] if args.largest_only else args.cases):
        rows = measure_case(case, args.modes, peers, args, threads)
        report["cases"][case] = {"label": CASES[case]["label"], "r": CASES[case]["r"],
                                 "transmission": CASES[case]["transmission"], "rows": rows}
        label = CASES[case]["label"]
        print(f"\n## {label}: threshold patterns, seconds per sample")
        verdicts_thr[case] = speed_table(rows, "thr", threads)
        print(f"\n## {label}: photon numbers (PNR), seconds per sample")
        verdicts_pnr[case] = speed_table(rows, "pnr", threads)
        print(f"\n## {label}: setup seconds (once per experiment; '-': none)")
        setup_table(rows, threads)
        print(f"\n## {label}: sanity, sampled mean clicks (threshold) +- standard error")
        flagged += [(case, "thr", m, c) for m, c in sanity_table(rows, "thr", threads)]
        print(f"\n## {label}: sanity, sampled mean photon number (PNR) +- standard error")
        flagged += [(case, "pnr", m, c) for m, c in sanity_table(rows, "pnr", threads)]
        for row in rows:
            for kind, results in row["results"].items():
                for column, res in results.items():
                    if "error" in res:
                        print(f"   {column} {kind} at M={row['M']} failed: {res['error']}")
                        failed |= column.startswith("ours")
                    if res.get("killed"):
                        print(f"   {column} {kind} at M={row['M']}: killed after "
                              f"{res['seconds']:.1f} s (unfinished call: "
                              f"{res.get('unfinished')})")
    if verdicts_thr:
        print()
        print("\n".join(goal_lines(verdicts_thr, verdicts_pnr)))
    if flagged:
        print(f"sampled means more than {SANITY_SIGMAS:g} standard errors from the exact value "
              "('!'): " + ", ".join(f"({c}) {k} M={m} {col}" for c, k, m, col in flagged))

    if args.largest:
        report["largest"] = largest_experiment(args, threads)
        print_largest(report["largest"])

    load_after = background_load()
    report["background_load_after"] = load_after
    print(f"\ntotal time {time.perf_counter() - t_start:.0f} s"
          + (f"; other load just after: {100 * load_after:.0f} % of all cores"
             if load_after is not None else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=json_default)
        print(f"results written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, BENCH_DIR)
    sys.exit(main())
