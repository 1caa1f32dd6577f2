"""Builds libprio_ctypes/libprio.so: a plain C shared library (no Python C API), loaded with ctypes."""

import glob
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "libprio_ctypes/csrc"


class build_plain_shared_library(build_ext):
    """setuptools' compiler driver, but the output is `libprio.so`, not a CPython module name."""

    def get_ext_filename(self, fullname):
        return os.path.join(*fullname.split(".")) + ".so"

    def get_export_symbols(self, ext):
        return []  # no PyInit_*: nothing of Python's is exported or used


setup(
    ext_modules=[
        Extension(
            "libprio_ctypes.libprio",
            sources=sorted(glob.glob(f"{CSRC}/*.c")),
            include_dirs=[CSRC],
            libraries=["crypto"],
            # Portable build: no -march=native, so a wheel built here runs on any x86-64.
            extra_compile_args=["-std=c11", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra"],
        )
    ],
    cmdclass={"build_ext": build_plain_shared_library},
)
