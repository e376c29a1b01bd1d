"""The classical cost of exact samples: predicted time per sample and per data
set, on this machine and extrapolated to named supercomputers.

One model, in layers:

* :mod:`jiuzhang_emu.kernels.work`: the work of each native kernel call and
  chain-rule step, and the one table of rates;
* :mod:`~jiuzhang_emu.cost.routes`: each exact route's work for one shot, from
  the pattern drawn, named as the sampler methods ("exact",
  "threshold-chain", "fan-out"), and the fan-out's processing order;
* :mod:`~jiuzhang_emu.cost.calibration`: the rates of a machine, as a
  :class:`Calibration` (measured by
  :func:`jiuzhang_emu.samplers.calibration.calibrate`);
* :mod:`~jiuzhang_emu.cost.estimator`: :func:`predict`, the expected seconds
  per shot of each route, the one estimate that ``method="auto"``, the
  runtime guard of a run (:mod:`jiuzhang_emu.samplers.runtime`), the ``cost``
  command and the advantage table (:mod:`jiuzhang_emu.presets.advantage`) use;
* :mod:`~jiuzhang_emu.cost.precision`: where "threshold-chain" leaves float64;
* :mod:`~jiuzhang_emu.cost.machines`: supercomputers and this machine's
  sustained rate.
"""
from jiuzhang_emu.cost.calibration import Calibration
from jiuzhang_emu.cost.estimator import CostEstimate, predict
from jiuzhang_emu.cost.machines import (
    SECONDS_PER_YEAR,
    SUPERCOMPUTERS,
    Supercomputer,
    format_seconds,
    format_years,
    measure_flops,
    supercomputer,
)
from jiuzhang_emu.cost.routes import (
    ROUTES,
    pattern_log10_seconds,
    vacuum_orders,
    route_options,
    spread,
)

__all__ = [
    "ROUTES",
    "SECONDS_PER_YEAR",
    "SUPERCOMPUTERS",
    "Calibration",
    "CostEstimate",
    "Supercomputer",
    "format_seconds",
    "format_years",
    "measure_flops",
    "pattern_log10_seconds",
    "predict",
    "vacuum_orders",
    "route_options",
    "spread",
    "supercomputer",
]
