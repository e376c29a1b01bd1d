"""Build and runtime configuration: show_config, OpenMP, thread-count policy."""
import os

import numpy as np
import pytest

import jiuzhang_emu as jz
from jiuzhang_emu import kernels


def test_show_config_prints_versions_openmp_and_threads(capsys):
    jz.show_config()
    out = capsys.readouterr().out
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    assert "openmp" in fields
    assert fields["openmp"] == str(kernels.openmp_enabled())
    assert fields["jiuzhang_emu"] == jz.__version__
    assert fields["numpy"] == np.__version__
    assert int(fields["usable_cores"]) == len(os.sched_getaffinity(0))
    assert int(fields["openmp_max_threads"]) >= 1
    assert int(fields["long_double_mantissa_bits"]) == np.finfo(np.longdouble).nmant + 1


@pytest.mark.skipif(os.environ.get("JIUZHANG_EMU_EXPECT_OPENMP") != "1",
                    reason="set JIUZHANG_EMU_EXPECT_OPENMP=1 where the build must have OpenMP")
def test_build_has_openmp():
    """CI sets JIUZHANG_EMU_EXPECT_OPENMP=1 so that a build that silently lost
    OpenMP (and runs every kernel on one thread) fails."""
    assert kernels.openmp_enabled() is True
    assert kernels.openmp_max_threads() >= 1


def test_openmp_enabled_is_a_bool():
    assert isinstance(kernels.openmp_enabled(), bool)
    if not kernels.openmp_enabled():
        assert kernels.openmp_max_threads() == 1


@pytest.mark.parametrize("n_threads,expected", [(1, 1), (2, 2), (7, 7), (np.int64(3), 3)])
def test_effective_n_threads_positive(n_threads, expected):
    assert jz.effective_n_threads(n_threads) == expected


def test_effective_n_threads_none_and_negative():
    cores = len(os.sched_getaffinity(0))
    assert jz.effective_n_threads(None) == cores
    assert jz.effective_n_threads(-1) == cores
    assert jz.effective_n_threads(-2) == max(1, cores - 1)
    assert jz.effective_n_threads(-1000) == 1


def test_effective_n_threads_refuses_absurd_counts_before_native_code():
    """10**4 threads started 10**4 OpenMP stacks; 2**31 - 1 aborted the
    interpreter in libgomp (issue 13, item 8)."""
    limit = max(64, 4 * len(os.sched_getaffinity(0)))
    assert jz.effective_n_threads(limit) == limit
    for bad in (limit + 1, 10**4, 2**31 - 1):
        with pytest.raises(jz.InputError, match=f"n_threads must be at most {limit}.*got {bad}"):
            jz.effective_n_threads(bad)
    with pytest.raises(jz.InputError, match="n_threads must be at most"):
        jz.hafnian(np.ones((4, 4)), n_threads=2**31 - 1)


@pytest.mark.parametrize("bad", [0, 1.0, 2.5, True, "2", [2]])
def test_effective_n_threads_rejects(bad):
    with pytest.raises(jz.InputError, match="n_threads"):
        jz.effective_n_threads(bad)


def test_exception_hierarchy():
    assert issubclass(jz.InputError, ValueError)
    assert issubclass(jz.InputError, jz.JiuzhangEmuError)
    assert issubclass(jz.RuntimeLimitError, jz.InputError)
    assert issubclass(jz.KernelError, RuntimeError)
    assert issubclass(jz.KernelError, jz.JiuzhangEmuError)
    assert not issubclass(jz.KernelError, ValueError)
