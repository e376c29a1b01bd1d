"""Samplers: detection patterns of an :class:`~jiuzhang_emu.Experiment`.

One module per route, and one run engine:

- :mod:`~jiuzhang_emu.samplers.exact`: photon numbers at the detectors by
  the chain rule; the detector model turns them into patterns (threshold:
  coarse-graining; pseudo-PNR: each photon to one of k detectors; dark counts
  added), which is exact for every detector model.  Partly distinguishable
  light is sampled on its internal modes and summed per detector.
- :mod:`~jiuzhang_emu.samplers.threshold_chain`: threshold clicks by the
  torontonian chain rule, a second exact route.
- :mod:`~jiuzhang_emu.samplers.mps`: approximate samples from a matrix
  product state of the pure part of the lossy state plus a random
  displacement (Oh et al. 2024): :func:`build_mps` builds (and resumes) the
  network, ``method="mps"`` samples it, with its truncation reported.
- :mod:`~jiuzhang_emu.samplers.adversaries`: classical adversaries
  ("thermal", "squashed", "coherent", "distinguishable", "uniform"), matched
  to the experiment's first moments, through the same batches, seeds and
  detector model.
- :mod:`~jiuzhang_emu.samplers.greedy`: the "greedy" spoofer (listed with
  the adversaries), a set of rows constructed once for the whole run to
  match the first and second click moments (not i.i.d.; native code,
  resumable side file).
- :mod:`~jiuzhang_emu.samplers.runtime`: a run's predicted time (the exact
  routes priced by :func:`jiuzhang_emu.cost.predict`, which also picks
  "auto"; the adversaries timed) and the refusal of absurd runs;
  :mod:`~jiuzhang_emu.samplers.calibration` measures the cost model's rates
  by timing the samplers.
- :mod:`~jiuzhang_emu.samplers.engine`: a run planned once, its batches to
  sinks (:func:`sample`; seeds and batches are described there), drawn by
  :mod:`~jiuzhang_emu.samplers.workers` (this process, local processes, Dask).
"""
from jiuzhang_emu.samplers.engine import (
    BATCH_SIZE,
    METHODS,
    Collect,
    ProgressBar,
    RunPlan,
    Samples,
    batch_sizes,
    check_method,
    check_shots,
    iter_batches,
    plan_run,
    root_seed,
    route_sampler,
    run,
    sample,
)
from jiuzhang_emu.samplers.mps import build_mps, open_mps
from jiuzhang_emu.samplers.workers import WorkerError

__all__ = ["BATCH_SIZE", "METHODS", "Collect", "ProgressBar", "RunPlan", "Samples", "WorkerError",
           "batch_sizes", "build_mps", "check_method", "open_mps", "check_shots", "iter_batches",
           "plan_run", "root_seed", "route_sampler", "run", "sample"]
