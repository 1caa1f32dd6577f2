"""GF(p) arithmetic of the C core against Python integers (through the test-only entry of a test build)."""

import ctypes
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libprio_ctypes import _native
from tests.core.model import P
from tests.core.test_memory_safety import make

ADD, SUB, MUL, INV, DOT = range(5)
EDGES = [0, 1, 2, P - 1, P - 2, 2**64 - 1, 2**64, 2**86, 2**87, 2**87 + 2**19, (P + 1) // 2, P - 2**64]
elements = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))


@pytest.fixture(scope="module")
def hooks(tmp_path_factory):
    """prio_test_field of PRIO_LIBRARY when that is a test build (make sanitize-lib), else of make hooks-lib."""
    lib = _native.lib
    if not (os.environ.get("PRIO_LIBRARY") and hasattr(lib, "prio_test_field")):
        build = tmp_path_factory.mktemp("hooks")
        make("hooks-lib", build)
        lib = ctypes.CDLL(str(build / "libprio-hooks.so"))
    fn = lib.prio_test_field
    fn.restype, fn.argtypes = ctypes.c_int32, [ctypes.c_int32, _native.u8p, _native.u8p, ctypes.c_void_p]
    return fn


def op(hooks, code, a, b=0):
    out = _native.buffer(16)
    status = hooks(code, _native.fe_bytes(a), _native.fe_bytes(b), out)
    assert status == 0
    return _native.fe_int(out.raw[:16])


@settings(max_examples=400, deadline=None)
@given(a=elements, b=elements)
def test_add_sub_mul(hooks, a, b):
    assert op(hooks, ADD, a, b) == (a + b) % P
    assert op(hooks, SUB, a, b) == (a - b) % P
    assert op(hooks, MUL, a, b) == a * b % P


@settings(max_examples=100, deadline=None)
@given(a=elements.filter(bool))
def test_inverse(hooks, a):
    assert op(hooks, INV, a) * a % P == 1


@pytest.mark.parametrize("a,b", [(P - 1, P - 1), (P - 2, P - 1), (2**87, 2**87), (3, 5)])
def test_lazy_dot_product_of_2_to_20_terms(hooks, a, b):
    assert op(hooks, DOT, a, b) == (a * b * 2**20) % P


def test_rejects_unreduced_operands(hooks):
    out = _native.buffer(16)
    assert hooks(ADD, _native.fe_bytes(P), _native.fe_bytes(0), out) == 12


def test_the_shipped_library_has_no_test_hook():
    shipped = ctypes.CDLL(str(Path(_native.__file__).with_name("libprio.so")))
    assert hasattr(shipped, "prio_encode")
    assert not hasattr(shipped, "prio_test_field")
