"""The rates that price the exact routes on one core of a machine.

The stored defaults are the chain-rule rates of the one rate table,
:data:`jiuzhang_emu.kernels.work.RATES`, fitted on the development machine;
:func:`jiuzhang_emu.samplers.calibration.calibrate` measures them here.
"""
from dataclasses import dataclass

from jiuzhang_emu.kernels.work import RATES, TIER_FACTORS


@dataclass(frozen=True)
class Calibration:
    """Seconds per unit of chain-rule work on one core of a machine, the
    click chain's precision-tier factors, and the machine's sustained float64
    rate per core."""

    subset_seconds: float = RATES["click_subset"]  # "threshold-chain"
    click_mode_seconds: float = RATES["click_mode"]
    schur_seconds: float = RATES["click_schur"]
    work_seconds: float = RATES["photon_work"]  # "exact"
    call_seconds: float = RATES["photon_call"]
    mode_seconds: float = RATES["photon_mode"]
    fanout_mode_seconds: float = RATES["fanout_mode"]  # "fan-out"
    fanout_call_seconds: float = RATES["fanout_call"]
    fanout_work_seconds: float = RATES["fanout_work"]
    fanout_substep_seconds: float = RATES["fanout_substep"]
    extended_factor: float = TIER_FACTORS["click_chain"]["extended"]
    double_double_factor: float = TIER_FACTORS["click_chain"]["double-double"]
    reference_factor: float = TIER_FACTORS["click_chain"]["reference"]
    flops_per_core: float = 54e9
    machine: str = "stored: 2-core AMD EPYC (Zen 5), the development machine"
