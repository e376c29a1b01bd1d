"""The k = 2 low-order marginal sampler: a Boltzmann machine, method "boltzmann".

Villalonga, Niu, Li, Neven, Platt, Smelyanskiy, Boixo, arXiv:2109.11525: the
k-th order sampler matches the ideal marginals up to order k; k = 2 is a
Boltzmann machine set from a mean-field solution.  Threshold detectors only.

Variables: the clicks x_j in {0, 1} (not spins), with

    P(x) = exp(h . x + sum_{j<k} J_jk x_j x_k) / Z.

Targets (dark counts included, so the sampler adds none): p_j =
``experiment.click_probabilities()`` and p_jk =
``experiment.pair_click_probabilities()`` (rows in blocks), C_jk = p_jk -
p_j p_k.  The fit (:func:`fit_machine`):

1. naive mean field (Kappen & Rodriguez, Neural Comput. 10, 1137 (1998)), in
   0/1 variables: J_jk = -(C^-1)_jk for j != k, h_j = logit(p_j) -
   sum_k J_jk p_k (C^-1 by Cholesky);
2. Boltzmann learning from there: ``chains`` persistent Gibbs chains, one sweep
   per iteration, the gradient of the log-likelihood (p - <x>, p_jk -
   <x_j x_k>) in the centred parametrisation (covariances C_jk - C^chains_jk
   scaled by 1 / (v_j v_k), v = p (1 - p); first moments by 1 / v) (a step dJ comes with dh = -dJ p, so that
   it leaves the first moments where they were to first order), a step
   ``learning_rate`` / (1 + t / ``decay``), and a polynomial-decay average
   of the parameters (Shamir & Zhang, ICML 2013) as the candidate machine;
3. stopping criterion, checked on the mean-field machine and every
   ``check_every`` iterations on the candidate, each time by a separate
   measurement on fresh chains with the parameters fixed (the learning
   chains' own statistics track the targets more closely than the machine
   does, so they are not used): the noise-corrected RMS z of the machine's
   first and of its second moments against the targets (below) are both
   at most ``target_rms_z``; else the fit ends after ``iterations``.  The
   machine returned is the one with the smallest measured error of all the
   checks (the mean-field machine if learning never improved on it).

Moment errors are in units of the shot noise of ``reference_shots`` (10,000)
shots: z_j = (<x_j> - p_j) / sqrt(p_j (1 - p_j) / L) and z_jk alike with
p_jk.  The machine's moments are estimated from Gibbs samples whose chains
fall into ``groups`` independent groups; the spread of the group means gives
each estimate's own noise, expressed as a "noise floor" z_noise, and the
noise-corrected RMS z is sqrt(max(0, mean(z^2) - mean(z_noise^2))): an
estimate of the machine's true RMS error, whose own uncertainty shrinks as
the number of moments grows.  The fitted machine's ``summary()`` holds these
errors from the last check, a measurement of the machine returned (raw max
|z| and RMS z, the noise floor, the corrected RMS z), and whether the
criterion was met: nothing there is claimed without being measured.
Above ``all_pairs_up_to`` modes the pair errors are measured on the pairs of
``pair_rows`` rows drawn at random (seeded), which the summary states.

At large M the clicks are nearly independent (at 992 modes of
``jiuzhang4(spatial_modes=8, cube_side=5)`` no pair covariance reaches the
shot noise of 10^4 shots): the mean-field start then already meets the
criterion and no learning runs, which the summary shows (``iterations`` 0).
Learning can only lower errors that exceed the noise of its own estimates,
about sqrt(L / (chains x iterations)) in z.  It does not always get there: at
1026 modes of ``jiuzhang4(spatial_modes=3, cube_side=7)`` the mean-field
machine missed the criterion (corrected RMS z 1.51 first, 1.34 pairs) and
400 iterations on 1024 chains made it worse (2.46, 2.10): the noise of the
stochastic gradient on the M couplings of a unit adds up in its field, which
grows with M at a fixed number of chains.  The mean-field machine is then
the one returned, with ``met`` False in its summary.  At the full 8176 modes
the mean-field start met the criterion (0.28, 0.16).

Sampling (:class:`Sampler`): each batch runs its own ``ceil(size /
shots_per_chain)`` fresh chains, started from the mean-field product
distribution (independent x_j ~ Bernoulli(p_j)), ``burn_in`` sweeps, then one
shot every ``thin`` sweeps (:mod:`jiuzhang_emu.kernels.gibbs`, native).
Guarantee: batches are independent (their own child seeds); the shots of one
chain are consecutive Gibbs states ``thin`` sweeps apart, i.i.d. only up to
that thinning, and every shot follows the machine's distribution up to the
burn-in.  The defaults (burn-in 10 sweeps, thin 3, 4 shots per chain: 5.75
sweeps per shot) come from fitted machines of ``jiuzhang4`` at 52 and 992
modes, 256 chains of 60 sweeps: the autocorrelation of the click number at
lags 1, 2, 3, 4, 6 sweeps was 0.44, 0.17, 0.06, 0.02, 0.00 (52 modes) and
0.55, 0.27, 0.13, 0.07, 0.03 (992 modes); that of the most correlated pair
products 0.03-0.08 at lag 1 and <= 0.01 from lag 2; the mean click number
from the product start reached its equilibrium value within the noise by
sweep 3.

Randomness: the fit draws from the child ``SeedSequence(entropy,
spawn_key=(*spawn_key, FIT_SPAWN_KEY))`` of the run's root seed (batches use
(*spawn_key, i) with i the batch index), so a seed gives the same machine, and
the same samples, whatever the number of workers.

Side file (``path``): HDF5 with the machine (h, J float32, the start
probabilities), the experiment's fingerprint, the fit options, the seed and
the summary; written (to a temporary name, then renamed) only once a fit is
complete, reused by a run with the same experiment, options and seed, and
never overwritten: any other file is refused.  An interrupted fit leaves
nothing behind and starts again.
"""
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels.checks import check_integer, check_real
from jiuzhang_emu.kernels.gibbs import gibbs_sweeps

#: Sampling defaults (module docstring).
DEFAULT_BURN_IN = 10
DEFAULT_THIN = 3
DEFAULT_SHOTS_PER_CHAIN = 4
#: Last element of the fit's spawn key (batch indices never reach it).
FIT_SPAWN_KEY = 2**62 + 0x424D
FORMAT = "jiuzhang_emu boltzmann machine"
FORMAT_VERSION = 1
_P_CLIP = 1e-9  # click probabilities are clipped to [eps, 1 - eps] (logit, C^-1)
_ROW_BLOCK = 512  # rows of the pair targets per call


@dataclass(frozen=True)
class FitOptions:
    """Options of :func:`fit_machine` (module docstring).

    Attributes
    ----------
    reference_shots : int
        L of the shot noise sqrt(p (1 - p) / L) the errors are measured in.
    target_rms_z : float
        Stop once the noise-corrected RMS z of the first and of the second
        moments are both at most this.
    iterations : int
        Most learning iterations (one sweep of every chain each).
    chains : int or None
        Persistent chains; None: 1024, fewer at large M (at least 64, so
        that chains x M^2 <= 2e9 per iteration where possible).
    learning_rate, decay : float
        Step learning_rate / (1 + t / decay) on the variance-scaled gradient.
    check_every : int
        Iterations between checks of the criterion (a check measures the
        averaged parameters on fresh chains: ``check_samples`` states).
    check_samples : int or None
        Gibbs states a check measures; None: 40,000 up to 1,000 modes, then
        4e7 / M, at least 10,000 (more moments average the noise correction
        better, and a state costs O(M^2)).
    groups : int
        Independent chain groups for the noise of the estimates.
    eval_chains, eval_records : int
        The final measurement: chains, and states recorded per chain (after
        ``DEFAULT_BURN_IN`` sweeps, every ``DEFAULT_THIN``).
    all_pairs_up_to : int
        Measure every pair up to this many modes, else ``pair_rows`` rows.
    pair_rows : int
    """

    reference_shots: int = 10_000
    target_rms_z: float = 0.5
    iterations: int = 400
    chains: object = None
    learning_rate: float = 0.2
    decay: float = 50.0
    check_every: int = 25
    check_samples: object = None
    groups: int = 16
    eval_chains: int = 256
    eval_records: int = 16
    all_pairs_up_to: int = 2048
    pair_rows: int = 256

    def __post_init__(self):
        check_integer(self.reference_shots, "reference_shots", low=1)
        check_real(self.target_rms_z, "target_rms_z", low=0, low_open=True)
        check_integer(self.iterations, "iterations", low=0)
        if self.chains is not None:
            check_integer(self.chains, "chains", low=self.groups)
        check_real(self.learning_rate, "learning_rate", low=0, low_open=True)
        check_real(self.decay, "decay", low=0, low_open=True)
        check_integer(self.check_every, "check_every", low=1)
        if self.check_samples is not None:
            check_integer(self.check_samples, "check_samples", low=1)
        check_integer(self.groups, "groups", low=2)
        check_integer(self.eval_chains, "eval_chains", low=self.groups)
        check_integer(self.eval_records, "eval_records", low=1)
        check_integer(self.all_pairs_up_to, "all_pairs_up_to", low=1)
        check_integer(self.pair_rows, "pair_rows", low=1)

    def check_samples_for(self, M):
        if self.check_samples is not None:
            return int(self.check_samples)
        return int(max(10_000, min(40_000, 4e7 // max(M, 1))))

    def chains_for(self, M):
        if self.chains is not None:
            return int(self.chains)
        return int(min(1024, max(64, 2e9 // (M * M))))


@dataclass(frozen=True, eq=False)
class BoltzmannMachine:
    """A fitted machine (module docstring).

    Attributes
    ----------
    fingerprint : str
        The experiment's.
    h : ndarray of shape (M,)
    J : ndarray of float32 of shape (M, M)
        Symmetric, zero diagonal.
    start : ndarray of shape (M,)
        Click probabilities of the chains' product start.
    options : FitOptions
    errors : dict
        The measured moment errors (module docstring).
    history : dict
        Iterations run, the checks (iteration, corrected RMS z of singles
        and of pairs), whether the criterion was met, fit seconds.
    """

    fingerprint: str
    h: np.ndarray
    J: np.ndarray
    start: np.ndarray
    options: FitOptions
    errors: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    burn_in: int = DEFAULT_BURN_IN
    thin: int = DEFAULT_THIN
    shots_per_chain: int = DEFAULT_SHOTS_PER_CHAIN

    @property
    def n_modes(self):
        return len(self.h)

    @property
    def parameters(self):
        """What sets the cost of a shot (the run-time pilot's cache key)."""
        return (self.n_modes, self.options, self.burn_in, self.thin, self.shots_per_chain)

    def summary(self):
        """JSON-serialisable: parameters, fit history and measured errors."""
        return {"n_modes": self.n_modes, "variables": "0/1 clicks",
                "options": asdict(self.options),
                "sampling": {"burn_in": self.burn_in, "thin": self.thin,
                             "shots_per_chain": self.shots_per_chain},
                "max_abs_J": float(np.abs(self.J).max(initial=0.0)),
                "fit": self.history, "errors": self.errors}

    def sample(self, size, rng, *, n_threads=None):
        """``size`` click patterns (uint8, shape (size, M)) from fresh chains
        (module docstring)."""
        chains = -(-size // self.shots_per_chain)
        x = (rng.random((chains, self.n_modes)) < self.start).astype(np.uint8)
        sweeps = self.burn_in + 1 + self.thin * (self.shots_per_chain - 1)
        u = rng.random((chains, sweeps, self.n_modes))
        records, _ = gibbs_sweeps(self.J, self.h, u, x, burn_in=self.burn_in, thin=self.thin,
                                  n_threads=n_threads, check_symmetric=False)
        return records.reshape(-1, self.n_modes)[:size]


def check_experiment(experiment):
    """Refuse what the route cannot sample (clear errors before any work)."""
    if not isinstance(experiment.detector, Threshold):
        raise InputError(f"method 'boltzmann' samples threshold detectors only, and "
                         f"{experiment.name!r} has {experiment.detector.kind} detection")


def targets(experiment, dtype=np.float32):
    """(p, P): the click probabilities (M,) and the pair click
    probabilities (M, M) of ``dtype`` (diagonal p), rows in blocks."""
    p = np.asarray(experiment.click_probabilities(), dtype=np.float64)
    M = len(p)
    P = np.empty((M, M), dtype=dtype)
    for first in range(0, M, _ROW_BLOCK):
        rows = np.arange(first, min(M, first + _ROW_BLOCK))
        P[rows] = experiment.pair_click_probabilities(rows)
    np.fill_diagonal(P, p)
    return p, P


def mean_field(p, P):
    """Naive mean-field machine (h, J float32) for targets p, P (module
    docstring, step 1)."""
    from scipy.linalg import lapack

    p = np.clip(p, _P_CLIP, 1 - _P_CLIP)
    C = np.asarray(P, dtype=np.float64) - np.outer(p, p)
    np.fill_diagonal(C, p * (1 - p))
    factor, info = lapack.dpotrf(C, lower=0, overwrite_a=1, clean=0)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise InputError(f"the click covariance of the targets is not positive definite "
                         f"(LAPACK info {info}); the targets are not those of one distribution")
    upper = np.triu(inverse, 1)
    del inverse, factor, C
    J = -(upper + upper.T).astype(np.float32)
    del upper
    h = np.log(p / (1 - p)) - J.astype(np.float64) @ p
    return h, J


class _Moments:
    """Accumulates first moments and the pair moments of some rows, per
    chain group, from Gibbs samples."""

    def __init__(self, M, rows, groups):
        self.rows, self.groups = rows, groups
        self.n = np.zeros(groups)
        self.first = np.zeros((groups, M))
        self.pairs = np.zeros((groups, len(rows), M))

    def add(self, states, group_of_chain):
        """states uint8 (chains, records, M)."""
        for g in range(self.groups):
            x = states[group_of_chain == g].reshape(-1, states.shape[-1]).astype(np.float32)
            self.n[g] += len(x)
            self.first[g] += x.sum(axis=0)
            self.pairs[g] += x[:, self.rows].T @ x

    def z_scores(self, p, P_rows, L):
        """Per quantity (singles, pairs of the rows off the diagonal): z and
        the noise floor z_noise (module docstring)."""
        n = self.n.sum()
        out = {}
        for name, sums, target in (("first", self.first, p), ("pairs", self.pairs, P_rows)):
            means = sums / self.n.reshape((-1,) + (1,) * (sums.ndim - 1))
            mean = sums.sum(axis=0) / n
            spread = np.sqrt(np.var(means, axis=0, ddof=1) / self.groups)
            sigma = np.sqrt(np.clip(target * (1 - target), 1e-300, None) / L)
            z, noise = (mean - target) / sigma, spread / sigma
            if name == "pairs":
                off = self.rows[:, None] != np.arange(len(p))[None, :]
                z, noise = z[off], noise[off]
            out[name] = (z, noise)
        return out


def _error_summary(scores, samples, rows, M):
    errors = {"samples": int(samples)}
    for name, (z, noise) in scores.items():
        if z.size == 0:
            errors[name] = {"count": 0}
            continue
        mean_sq, floor_sq = float(np.mean(z**2)), float(np.mean(noise**2))
        errors[name] = {"count": int(z.size), "max_abs_z": float(np.abs(z).max()),
                        "rms_z": mean_sq**0.5, "noise_rms_z": floor_sq**0.5,
                        "corrected_rms_z": max(0.0, mean_sq - floor_sq)**0.5}
    errors["pairs_measured"] = "all" if len(rows) == M else f"rows {len(rows)} of {M} (random)"
    return errors


def _rows(M, options, rng):
    if M <= options.all_pairs_up_to:
        return np.arange(M)
    return np.sort(rng.choice(M, size=min(M, options.pair_rows), replace=False))


def _chain_chunks(chains, sweeps, M):
    """Chains per kernel call, so that its uniforms take <= 64 MB."""
    return max(1, min(chains, int(2**23 // max(1, sweeps * M))))


def run_chains(machine, chains, records, rng, sink=None, n_threads=None, thin=None):
    """Fresh chains of ``machine`` from its product start: ``burn_in``
    sweeps, then ``records`` states each, every ``thin`` sweeps (default the
    machine's).  Returns the
    states, uint8 (chains, records, M), or, with ``sink(states, first_chain)``,
    feeds them chunk by chunk and returns None."""
    M = machine.n_modes
    thin = machine.thin if thin is None else thin
    sweeps = machine.burn_in + 1 + thin * (records - 1)
    chunk = _chain_chunks(chains, sweeps, M)
    out = None if sink is not None else np.empty((chains, records, M), dtype=np.uint8)
    for first in range(0, chains, chunk):
        n = min(chunk, chains - first)
        x = (rng.random((n, M)) < machine.start).astype(np.uint8)
        u = rng.random((n, sweeps, M))
        states, _ = gibbs_sweeps(machine.J, machine.h, u, x, burn_in=machine.burn_in,
                                 thin=thin, n_threads=n_threads, check_symmetric=False)
        if sink is None:
            out[first:first + n] = states
        else:
            sink(states, first)
    return out


def measure(machine, p, P, rng, *, chains=None, records=None, rows=None, n_threads=None):
    """The measured moment errors of ``machine`` against the targets p, P
    (module docstring): ``chains`` fresh chains (default
    ``options.eval_chains``) of ``records`` states (``options.eval_records``)
    each, after ``burn_in`` sweeps, one per sweep (the noise floor comes from
    the spread between independent chain groups, so it accounts for the
    correlation of consecutive states)."""
    options = machine.options
    M = machine.n_modes
    chains = options.eval_chains if chains is None else chains
    records = options.eval_records if records is None else records
    rows = _rows(M, options, rng) if rows is None else np.asarray(rows)
    acc = _Moments(M, rows, options.groups)

    def sink(states, first):
        acc.add(states, (first + np.arange(len(states))) % options.groups)

    run_chains(machine, chains, records, rng, sink, n_threads, thin=1)
    scores = acc.z_scores(p, np.asarray(P[rows], dtype=np.float64), options.reference_shots)
    return _error_summary(scores, chains * records, rows, M)


def _fit_rng(root):
    if isinstance(root, np.random.Generator):
        return root
    return np.random.default_rng(np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, FIT_SPAWN_KEY)))


def fit_machine(experiment, rng=None, options=None, *, progress=None, n_threads=None,
                target=None):
    """Fit the Boltzmann machine of ``experiment`` (module docstring).

    Parameters
    ----------
    experiment : Experiment
        Threshold detectors.
    rng : None, int, SeedSequence or Generator
        A SeedSequence is used as a run's root: the fit draws from its child
        with spawn key (..., FIT_SPAWN_KEY).
    options : FitOptions, optional
    progress : bool, optional
        A tqdm bar over the iterations; None: when stderr is a terminal.
    n_threads : int, optional
        Threads of the Gibbs kernel (None: all usable cores).
    target : (p, P), optional
        The targets, when already computed (:func:`targets`).

    Returns
    -------
    BoltzmannMachine
    """
    check_experiment(experiment)
    options = FitOptions() if options is None else options
    if not isinstance(options, FitOptions):
        raise InputError(f"options must be a FitOptions, got {type(options).__name__}")
    if not isinstance(rng, (np.random.Generator, np.random.SeedSequence)):
        try:
            rng = np.random.SeedSequence(rng)
        except (TypeError, ValueError) as exc:
            raise InputError(f"rng must be None, an int, a SeedSequence or a Generator, "
                             f"got {rng!r}") from exc
    rng = _fit_rng(rng)
    start_time = time.perf_counter()
    p, P = targets(experiment) if target is None else target
    h, J = mean_field(p, P)
    start = np.clip(p, _P_CLIP, 1 - _P_CLIP)
    machine = BoltzmannMachine(experiment.fingerprint(), h, J, start, options)
    h, J, history, errors = _learn(machine, p, P, rng, progress, n_threads)
    history["met"] = bool(errors["first"].get("corrected_rms_z", 0.0) <= options.target_rms_z
                          and errors["pairs"].get("corrected_rms_z", 0.0)
                          <= options.target_rms_z)
    history["fit_seconds"] = time.perf_counter() - start_time  # not part of the seeded result
    return BoltzmannMachine(machine.fingerprint, h, J, start, options, errors, history)


def _learn(machine, p, P, rng, progress, n_threads):
    """Boltzmann learning from the mean-field machine (module docstring,
    steps 2 and 3): (h, J, history, errors), errors the last check's
    measurement of the machine returned."""
    options = machine.options
    M = machine.n_modes
    chains = options.chains_for(M)
    records = -(-options.check_samples_for(M) // min(chains, options.eval_chains))
    rows = _rows(M, options, rng)
    h, J = machine.h.copy(), machine.J.copy()
    x = (rng.random((chains, M)) < machine.start).astype(np.uint8)
    bar = _Bar(progress, options.iterations)
    checks, t, candidate, best = [], 0, machine, None
    h_avg = J_avg = None
    try:
        while True:
            # the check: fresh chains on the candidate's fixed parameters
            errors = measure(candidate, p, P, rng, chains=min(chains, options.eval_chains),
                             records=records, rows=rows, n_threads=n_threads)
            rms = [errors[k].get("corrected_rms_z", 0.0) for k in ("first", "pairs")]
            checks.append([t, *rms])
            bar.note(rms)
            if best is None or max(rms) < best[0]:
                best = (max(rms), t, candidate, errors)
            if max(rms) <= options.target_rms_z or t >= options.iterations:
                break
            if t == 0:  # the persistent chains start burnt in on the mean-field machine
                u = rng.random((chains, machine.burn_in, M))
                _, x = gibbs_sweeps(J, h, u, x, burn_in=machine.burn_in, n_threads=n_threads,
                                    check_symmetric=False)
            for _ in range(min(options.check_every, options.iterations - t)):
                _, x = gibbs_sweeps(J, h, rng.random((chains, 1, M)), x, n_threads=n_threads,
                                    check_symmetric=False)
                t += 1
                h, J = _step(h, J, p, P, x, t, options)
                h_avg, J_avg = _average(h_avg, J_avg, h, J, t)
                bar.update()
            candidate = BoltzmannMachine(machine.fingerprint, h_avg[0].copy(), J_avg.copy(),
                                         machine.start, options)
    finally:
        bar.close()
    _, chosen, candidate, errors = best  # the best measured machine
    history = {"iterations": t, "chosen_iteration": chosen, "chains": chains,
               "checks": checks,
               "criterion": f"corrected RMS z of first and of second moments <= "
                            f"{options.target_rms_z} (shot noise of "
                            f"{options.reference_shots} shots), measured on "
                            f"{errors['samples']} states of fresh chains"}
    return candidate.h, candidate.J, history, errors


def _step(h, J, p, P, x, t, options):
    """One learning step on the chains' states x (chains, M) (module
    docstring, step 2): the covariance gradient C - C_chains, scaled by
    1 / (v_j v_k) (v = p (1 - p), the variance of a centred pair product of
    independent clicks), in the centred parametrisation."""
    chains = len(x)
    xf = x.astype(np.float32)
    step = options.learning_rate / (1 + t / options.decay)
    mean = xf.mean(axis=0, dtype=np.float64)
    v = np.clip(p * (1 - p), 1e-12, None)
    grad = (P - np.outer(p, p).astype(np.float32)) - (xf.T @ xf) / np.float32(chains)
    grad += np.outer(mean, mean).astype(np.float32)
    scale = (1 / v).astype(np.float32)
    grad *= scale[:, None]
    grad *= scale[None, :] * np.float32(step)
    np.fill_diagonal(grad, 0.0)
    J += grad
    h += step * (p - mean) / v - grad.astype(np.float64) @ p
    return h, J


def _average(h_avg, J_avg, h, J, t, eta=3.0):
    """Polynomial-decay average of the parameters (Shamir & Zhang, ICML 2013):
    avg_t = (1 - w) avg_{t-1} + w theta_t, w = (eta + 1) / (t + eta), which
    weighs about the last t / eta iterations (no restarts)."""
    if h_avg is None:
        return [h.copy()], J.copy()
    w = (eta + 1) / (t + eta)
    h_avg[0] += w * (h - h_avg[0])
    J_avg += np.float32(w) * (J - J_avg)
    return h_avg, J_avg


class _Bar:
    """A tqdm bar over the iterations (``enabled`` None: stderr is a tty)."""

    def __init__(self, enabled, total):
        enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="it", desc="fitting Boltzmann machine",
                             file=sys.stderr, dynamic_ncols=True)

    def note(self, rms):
        if self._bar is not None:
            self._bar.set_postfix_str(f"rms z {rms[0]:.2f} / {rms[1]:.2f}")

    def update(self):
        if self._bar is not None:
            self._bar.update()

    def close(self):
        if self._bar is not None:
            self._bar.close()


def _seed_text(root):
    """The fit's seed as text for the side file; None for a Generator."""
    if isinstance(root, np.random.Generator):
        return None
    entropy = root.entropy
    entropy = [int(e) for e in entropy] if isinstance(entropy, (list, tuple, np.ndarray)) \
        else int(entropy)
    return json.dumps({"entropy": entropy, "spawn_key": [int(k) for k in root.spawn_key]})


def _options_text(options):
    return json.dumps(asdict(options), sort_keys=True)


def save_machine(path, machine, seed_text):
    """Write ``machine`` to the new HDF5 file ``path`` (a temporary name,
    then renamed; an existing file is refused, never overwritten)."""
    import h5py

    path = os.fspath(path)
    if os.path.lexists(path):
        raise InputError(f"path {path!r} exists: a Boltzmann-machine file is never overwritten")
    temporary = f"{path}.{os.getpid()}.partial"
    try:
        with h5py.File(temporary, "w") as handle:
            handle.attrs.update({
                "format": FORMAT, "format_version": FORMAT_VERSION,
                "fingerprint": machine.fingerprint, "options": _options_text(machine.options),
                "seed": "null" if seed_text is None else seed_text,
                "sampling": json.dumps([machine.burn_in, machine.thin, machine.shots_per_chain]),
                "errors": json.dumps(machine.errors), "history": json.dumps(machine.history)})
            handle.create_dataset("h", data=machine.h)
            handle.create_dataset("J", data=machine.J)
            handle.create_dataset("start", data=machine.start)
        os.link(temporary, path)  # fails if path appeared meanwhile: never overwritten
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load_machine(path, experiment, options, seed_text):
    """The machine in the side file ``path``, after checking that it was
    fitted for ``experiment`` with ``options`` and the seed ``seed_text``."""
    import h5py

    path = os.fspath(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"path {path!r} is not a Boltzmann-machine file (HDF5): {exc}") from exc
    with handle:
        attrs = dict(handle.attrs)
        if attrs.get("format") != FORMAT or attrs.get("format_version") != FORMAT_VERSION:
            raise InputError(f"path {path!r} is not a Boltzmann-machine file of format "
                             f"{FORMAT!r} version {FORMAT_VERSION}")
        wanted = {"fingerprint": experiment.fingerprint(), "options": _options_text(options),
                  "seed": "null" if seed_text is None else seed_text}
        for key, value in wanted.items():
            if str(attrs.get(key)) != value:
                raise InputError(f"path {path!r} holds a Boltzmann machine with another "
                                 f"{key} ({str(attrs.get(key))[:80]}, this run has "
                                 f"{value[:80]}); use another path")
        burn_in, thin, per_chain = json.loads(attrs["sampling"])
        return BoltzmannMachine(attrs["fingerprint"], handle["h"][()], handle["J"][()],
                                handle["start"][()], options, json.loads(attrs["errors"]),
                                json.loads(attrs["history"]), burn_in, thin, per_chain)


def prepare(experiment, shots, root, *, path=None, n_workers=1, progress=None,
            options=None):
    """The fitted machine of a run (the engine calls it once, in
    ``plan_run``): read from ``path`` when that side file exists (checked),
    else fitted from ``root`` (a SeedSequence, or a Generator) and, with
    ``path``, saved there.  ``n_workers`` does not change the fit."""
    check_experiment(experiment)
    options = FitOptions() if options is None else options
    if path is not None and os.path.exists(path):
        return load_machine(path, experiment, options, _seed_text(root))
    machine = fit_machine(experiment, root, options, progress=progress)
    if path is not None:
        save_machine(path, machine, _seed_text(root))
    return machine


class Sampler:
    """The run engine's route sampler: clicks from fresh Gibbs chains of a
    fitted machine (module docstring); dark counts are in the targets."""

    counts_are_clicks = True

    def __init__(self, experiment, machine):
        check_experiment(experiment)
        if not isinstance(machine, BoltzmannMachine):
            raise InputError(f"method 'boltzmann' needs a fitted BoltzmannMachine, got "
                             f"{type(machine).__name__}")
        if machine.fingerprint != experiment.fingerprint():
            raise InputError(f"the Boltzmann machine was fitted for another experiment "
                             f"(fingerprint {machine.fingerprint[:12]}..., "
                             f"{experiment.name!r} has {experiment.fingerprint()[:12]}...)")
        self.machine = machine
        self.dark_counts = np.zeros(experiment.n_modes)
        self.unresolved_mass = 0.0

    def counts(self, size, rng):
        return self.machine.sample(size, rng).astype(np.int64)
