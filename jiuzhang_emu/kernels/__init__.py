"""Native GBS kernels: hafnian, loop hafnian, torontonian, loop torontonian,
permanent, single and batched.

All take ``n_threads`` (None = all usable cores), ``precision`` ("double",
"extended" = 80-bit long double, or "auto"), ``return_info`` (get the tier and
the cancellation indicator with the value) and ``max_seconds`` (refuse calls
predicted to run longer).  Results do not depend on the number of threads.
"""
from jiuzhang_emu.kernels._precision import AUTO_RTOL, KernelResult
from jiuzhang_emu.kernels.hafnian import (
    BatchResult,
    hafnian,
    hafnian_batch,
    loop_hafnian,
    loop_hafnian_batch,
)
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
    "KernelResult",
    "hafnian",
    "hafnian_batch",
    "loop_hafnian",
    "loop_hafnian_batch",
    "loop_torontonian",
    "loop_torontonian_batch",
    "permanent",
    "permanent_batch",
    "torontonian",
    "torontonian_batch",
]
