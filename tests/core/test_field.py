"""GF(p) arithmetic of the C core against Python integers (through the test-only entry)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libprio_ctypes import _native
from libprio_ctypes._native import lib
from tests.core.model import P

ADD, SUB, MUL, INV, DOT = range(5)
EDGES = [0, 1, 2, P - 1, P - 2, 2**64 - 1, 2**64, 2**86, 2**87, 2**87 + 2**19, (P + 1) // 2, P - 2**64]
elements = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))


def op(code, a, b=0):
    out = _native.buffer(16)
    status = lib.prio_test_field(code, _native.fe_bytes(a), _native.fe_bytes(b), out)
    assert status == 0
    return _native.fe_int(out.raw[:16])


@settings(max_examples=400, deadline=None)
@given(a=elements, b=elements)
def test_add_sub_mul(a, b):
    assert op(ADD, a, b) == (a + b) % P
    assert op(SUB, a, b) == (a - b) % P
    assert op(MUL, a, b) == a * b % P


@settings(max_examples=100, deadline=None)
@given(a=elements.filter(bool))
def test_inverse(a):
    assert op(INV, a) * a % P == 1


@pytest.mark.parametrize("a,b", [(P - 1, P - 1), (P - 2, P - 1), (2**87, 2**87), (3, 5)])
def test_lazy_dot_product_of_2_to_20_terms(a, b):
    assert op(DOT, a, b) == (a * b * 2**20) % P


def test_rejects_unreduced_operands():
    out = _native.buffer(16)
    assert lib.prio_test_field(ADD, _native.fe_bytes(P), _native.fe_bytes(0), out) == 12
