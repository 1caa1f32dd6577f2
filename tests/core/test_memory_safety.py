"""The C core under AddressSanitizer+UBSan, valgrind and libFuzzer (csrc/Makefile targets):
vectors and malformed inputs through a C driver, whose results must equal the Python API's."""

import os
import subprocess
from pathlib import Path

import pytest

from libprio_ctypes import Config, PrgMode, PrivateKey, decrypt, load_partition
from tests.core.model import jsonl_runs
from tests.core.test_readers import BATCH, PACKET_A_CASES, PACKET_B_CASES

CSRC = Path(__file__).resolve().parents[2] / "libprio_ctypes" / "csrc"
R_FIXED = 123456789  # the driver's evaluation point
FUZZ_TARGETS = ["client_packet_a", "client_packet_b", "verify1", "verify2", "total_share", "server_state", "decrypt"]


def make(target, tmp_path, *extra, timeout=600):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS="halt_on_error=1")
    proc = subprocess.run(["make", "-s", "-C", str(CSRC), target, f"BUILD={tmp_path}", *extra],
                          check=False, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def cases():
    """(line, expected status, expected output hex or None) over both vector files and crafted bytes."""
    out = []
    for name, mode in (("libprio-head-hashmode.jsonl", PrgMode.HASH), ("libprio-1.6-rawmode.jsonl", PrgMode.RAW)):
        for run in jsonl_runs(name):
            keys = [PrivateKey.from_hex(run[f"server_{x}_private_hex"]) for x in "ab"]
            cfg = Config(run["n_data"], run["batch_id"], mode)
            head = f"{run['n_data']} {{idx}} {int(mode is PrgMode.HASH)} {cfg.batch_id.hex()} {{key}}"
            for c in run["clients"]:
                for idx, blob in enumerate((c["packet_a"], c["packet_b"])):
                    key, raw = keys[idx], bytes.fromhex(blob)
                    h = head.format(idx=idx, key=key.to_hex())
                    v1 = load_partition(cfg, idx, key, [raw], R_FIXED).verify1[0]
                    out.append((f"load {h} {blob}", 0, v1.hex()))
                    # a keyring of the other server's key, then this one's: opened by key 1
                    ring = head.format(idx=idx, key=keys[1 - idx].to_hex() + key.to_hex())
                    out.append((f"ring {ring} {blob}", 0, "01" + v1.hex()))
                    plaintext = decrypt(key, raw)
                    out.append((f"decrypt {h} {blob}", 0, plaintext.hex()))
                    out.append((f"packet {h} {plaintext.hex()}", 0, plaintext.hex()))
                    out.append((f"verify1 {h} {c['verify1_a']}", 0, None))
                    out.append((f"verify2 {h} {c['verify2_b']}", 0, None))
                    out.append((f"v1read {h} {c['verify1_a']}", 0, c["verify1_a"]))
                    out.append((f"v2read {h} {c['verify2_b']}", 0, c["verify2_b"]))
            if "server_state_a" in run:
                h = head.format(idx=0, key=keys[0].to_hex())
                out.append((f"state {h} {run['server_state_a']}", 0, run["server_state_a"]))
            if not run["prec"]:
                h = head.format(idx=0, key=keys[0].to_hex())
                out.append((f"total {h} {run['total_share_b']}", 0, None))
    key = "00" * 32
    for table, idx in ((PACKET_A_CASES, 0), (PACKET_B_CASES, 1)):
        for plaintext, reason in table.values():
            out.append((f"packet 7 {idx} 1 {BATCH.hex()} {key} {plaintext.hex() or '-'}", int(reason), None))
    for junk in ("-", "00", "ff" * 59, "00" * 60, "00" * 200):
        for kind in ("decrypt", "load", "ring", "verify1", "verify2", "v1read", "v2read", "total", "state"):
            out.append((f"{kind} 3 0 1 {BATCH.hex()} {key} {junk}", None, None))
    # libprio's lenient forms (str8, leading zeros, trailing bytes) read back to canonical bytes
    lenient = "d90105a3000007c1"
    out.append((f"v1read 3 0 1 {BATCH.hex()} {key} {lenient}", 0, "a105a107"))
    out.append((f"v2read 3 0 1 {BATCH.hex()} {key} {lenient}", 0, "a105"))
    return out


def check_driver_output(output: str, expected):
    lines = output.splitlines()
    assert len(lines) == len(expected)
    for got, (line, status, hexout) in zip(lines, expected):
        got_status, _, got_hex = got.partition(" ")
        if status is not None:
            assert int(got_status) == status, line[:120]
        else:
            assert int(got_status) != 0, line[:120]
        if hexout is not None:
            assert got_hex == hexout, line[:120]


@pytest.fixture(scope="module")
def case_file(tmp_path_factory):
    expected = cases()
    path = tmp_path_factory.mktemp("cases") / "cases.txt"
    path.write_text("".join(line + "\n" for line, *_ in expected))
    return path, expected


def test_sanitizers_over_vectors_and_malformed_inputs(tmp_path, case_file):
    path, expected = case_file
    proc = make("sanitize", tmp_path, f"CASES={path}")
    assert "self-test ok" in proc.stdout
    check_driver_output((tmp_path / "cases.out").read_text(), expected)


def test_valgrind_over_vectors_and_malformed_inputs(tmp_path, case_file):
    path, expected = case_file
    proc = make("valgrind", tmp_path, f"CASES={path}")
    assert "self-test ok" in proc.stdout
    check_driver_output((tmp_path / "cases-valgrind.out").read_text(), expected)


@pytest.fixture(scope="module")
def fuzzers(tmp_path_factory):
    build = tmp_path_factory.mktemp("fuzz")
    make("fuzz-build", build)
    return build


@pytest.mark.parametrize("target", FUZZ_TARGETS)
def test_fuzz_briefly(fuzzers, target):
    corpus = CSRC / "fuzz" / "corpus" / target
    assert len(list(corpus.iterdir())) >= 2
    work = fuzzers / f"corpus-{target}"
    work.mkdir(exist_ok=True)
    proc = subprocess.run([str(fuzzers / f"fuzz-{target}"), "-max_total_time=8", "-print_final_stats=1",
                           str(work), str(corpus)], check=False, capture_output=True, text=True,
                           timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [int(line.split()[-1]) for line in proc.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert runs and runs[0] > 1000
