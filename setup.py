"""Build script: one Cython extension over the C kernels in csrc/.

OpenMP is probed by compiling and running a tiny program (the approach of
scikit-learn's ``_build_utils/openmp_helpers.py``); without it the kernels are
built serially and a warning is printed.  ``JIUZHANG_EMU_MARCH`` sets the
``-march`` flag (default ``native``; set it to an empty string for a portable
build).
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n > 0);
        return n > 0 ? 0 : 1;
    }
    """
)


def _compiles_and_runs(source, flags):
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write(source)
        try:
            subprocess.run(cc + flags + [src, "-o", exe], check=True, capture_output=True)
            subprocess.run([exe], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return False
    return True


def openmp_flags():
    if os.environ.get("JIUZHANG_EMU_NO_OPENMP"):
        return []
    for flags in (["-fopenmp"], ["-Xpreprocessor", "-fopenmp", "-lomp"]):
        if _compiles_and_runs(OPENMP_PROBE, flags):
            return flags
    warnings.warn(
        "OpenMP was not found: the jiuzhang_emu kernels are built single-threaded.",
        stacklevel=1,
    )
    return []


def arch_flags():
    march = os.environ.get("JIUZHANG_EMU_MARCH", "native")
    if not march:
        return []
    flag = [f"-march={march}"]
    return flag if _compiles_and_runs("int main(void){return 0;}", flag) else []


omp = openmp_flags()
compile_args = ["-std=c11", "-O3", "-fcx-limited-range", *arch_flags(), *omp]
link_args = [f for f in omp if f != "-Xpreprocessor"]

csrc = [
    "csrc/jz_common.c",
    "csrc/hafnian.c",
    "csrc/torontonian.c",
    "csrc/torontonian_dd.c",
    "csrc/permanent.c",
    "csrc/sampler.c",
    "csrc/click_sampler.c",
    "csrc/greedy.c",
    "csrc/gibbs.c",
]
extensions = [
    Extension(
        "jiuzhang_emu.kernels._kernels",
        sources=["jiuzhang_emu/kernels/_kernels.pyx", *csrc],
        depends=sorted(glob.glob("csrc/*.h")),  # a header edit rebuilds
        include_dirs=["csrc", np.get_include()],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False},
    ),
)
