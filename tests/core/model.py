"""An independent pure-Python model of the pieces the tests cross-check: the PRG and sampler
(spec §4), msgpack writing of crafted packets (§3), naive Lagrange evaluation (§5)."""

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

P = 2**87 + 2**19 + 1
G = 0x2597C14F48D5B65ED8DCCA
VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def prg_key(seed: bytes, batch_id: bytes, mode: str) -> bytes:
    return seed if mode == "raw" else hashlib.sha256(seed + batch_id).digest()[:16]


class Prg:
    def __init__(self, key: bytes):
        self._enc = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
        self.consumed = 0

    def read(self, n: int) -> bytes:
        self.consumed += n
        return self._enc.update(bytes(n))

    def sample_below(self, bound: int) -> int:
        t = bound - 1
        k = max(1, (t.bit_length() + 7) // 8)
        top = t >> (8 * (k - 1))
        mask = (1 << top.bit_length()) - 1
        while True:
            c = bytearray(self.read(k))
            c[0] = self.read(1)[0]
            if mask:
                c[0] &= mask
            v = int.from_bytes(c, "big")
            if v < bound:
                return v

    def eval_point(self, n_data: int) -> int:
        return n_data + 2 + self.sample_below(P - n_data - 2)


def root(m: int) -> int:
    return pow(G, 2**19 // m, P)


def interpolate_at(values: list[int], r: int) -> int:
    """Naive Lagrange evaluation over the len(values)-th roots of unity."""
    m = len(values)
    w = root(m)
    nodes = [pow(w, i, P) for i in range(m)]
    total = 0
    for i, y in enumerate(values):
        num, den = 1, 1
        for j, x in enumerate(nodes):
            if j != i:
                num = num * (r - x) % P
                den = den * (nodes[i] - x) % P
        total = (total + y * num * pow(den, P - 2, P)) % P
    return total


# --- msgpack writing (libprio's minimal forms) ---

def str_header(n: int) -> bytes:
    if n < 32:
        return bytes([0xA0 | n])
    if n < 256:
        return b"\xd9" + bytes([n])
    if n < 65536:
        return b"\xda" + n.to_bytes(2, "big")
    return b"\xdb" + n.to_bytes(4, "big")


def mp_str(b: bytes) -> bytes:
    return str_header(len(b)) + b


def array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 65536:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def fe(x: int) -> bytes:
    return mp_str(x.to_bytes(max(1, (x.bit_length() + 7) // 8), "big"))


def fe_array(xs) -> bytes:
    return array_header(len(xs)) + b"".join(fe(x) for x in xs)


def h_points(n_data: int) -> int:
    n = 1
    while n < n_data + 1:
        n *= 2
    return n


def packet_a(batch_id: bytes, shares6, data, h, index: bytes = b"\x00") -> bytes:
    return mp_str(batch_id) + b"".join(fe(x) for x in shares6) + index + fe_array(data) + fe_array(h)


def packet_b(batch_id: bytes, shares6, seed: bytes, index: bytes = b"\x01") -> bytes:
    return mp_str(batch_id) + b"".join(fe(x) for x in shares6) + index + mp_str(seed)


# --- msgpack reading of the subset (for cross-checks) ---

def read_packet_a(pt: bytes, n_data: int):
    pos = 0

    def item():
        nonlocal pos
        t = pt[pos]
        if 0xA0 <= t <= 0xBF:
            n, pos = t & 0x1F, pos + 1
        elif t == 0xD9:
            n, pos = pt[pos + 1], pos + 2
        elif 0x90 <= t <= 0x9F:
            pos += 1
            return [item() for _ in range(t & 0x0F)]
        elif t == 0xDC:
            n, pos = int.from_bytes(pt[pos + 1:pos + 3], "big"), pos + 3
            return [item() for _ in range(n)]
        elif t <= 0x7F:
            pos += 1
            return t
        else:
            raise ValueError(hex(t))
        body = pt[pos:pos + n]
        pos += n
        return body

    batch = item()
    a, b, c, f0, g0, h0 = (int.from_bytes(item(), "big") for _ in range(6))
    idx = item()
    data = [int.from_bytes(x, "big") for x in item()]
    h = [int.from_bytes(x, "big") for x in item()]
    assert len(data) == n_data
    return {"batch": batch, "a": a, "b": b, "c": c, "f0": f0, "g0": g0, "h0": h0, "idx": idx,
            "data": data, "h": h}


def jsonl_runs(name: str):
    return [json.loads(line) for line in (VECTORS / name).read_text().splitlines() if line.strip()]


def ndjson(path: Path):
    text = path.read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
