"""Native GBS kernels, each behind a checked front end: hafnian, loop hafnian,
torontonian, loop torontonian, permanent, single and batched, and the
chain-rule sampling and pattern-probability kernels
(:mod:`~jiuzhang_emu.kernels.chain_rule`), and the whole-set greedy click
matrix (:mod:`~jiuzhang_emu.kernels.low_order`).  Only this package touches the
compiled module.

The hafnian, torontonian and permanent families take ``n_threads`` (None =
all usable cores), ``precision`` ("double", "extended" = long double, or
"auto"), ``return_info`` (get the tier and the cancellation indicator with the
value) and ``max_seconds`` (refuse calls predicted to run longer).  Results do
not depend on the number of threads.  Public modules:
:mod:`~jiuzhang_emu.kernels.precision` (tiers, error budgets, the escalation
ladder), :mod:`~jiuzhang_emu.kernels.checks` (input checks),
:mod:`~jiuzhang_emu.kernels.reference` (brute-force oracles).
"""
from jiuzhang_emu.kernels._kernels import HAS_QUAD, openmp_enabled, openmp_max_threads
from jiuzhang_emu.kernels.chain_rule import (
    click_probabilities,
    sample_clicks,
    sample_fanout,
    sample_photons,
)
from jiuzhang_emu.kernels.precision import AUTO_RTOL, KernelResult
from jiuzhang_emu.kernels.hafnian import (
    BatchResult,
    hafnian,
    hafnian_batch,
    loop_hafnian,
    loop_hafnian_batch,
    loop_hafnian_polynomial,
    loop_hafnian_values,
)
from jiuzhang_emu.kernels.low_order import greedy_columns, greedy_refine
from jiuzhang_emu.kernels.permanent import permanent, permanent_batch
from jiuzhang_emu.kernels.torontonian import (
    loop_torontonian,
    loop_torontonian_batch,
    torontonian,
    torontonian_batch,
)

__all__ = [
    "AUTO_RTOL",
    "BatchResult",
    "HAS_QUAD",
    "KernelResult",
    "click_probabilities",
    "greedy_columns",
    "greedy_refine",
    "hafnian",
    "hafnian_batch",
    "loop_hafnian",
    "loop_hafnian_batch",
    "loop_hafnian_polynomial",
    "loop_hafnian_values",
    "loop_torontonian",
    "loop_torontonian_batch",
    "openmp_enabled",
    "openmp_max_threads",
    "permanent",
    "permanent_batch",
    "sample_clicks",
    "sample_fanout",
    "sample_photons",
    "torontonian",
    "torontonian_batch",
]
