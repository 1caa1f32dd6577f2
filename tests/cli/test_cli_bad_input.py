"""Bad input never crashes the CLI: bad records are counted with a reason, bad options and bad
client inputs are usage errors (exit code 2) that name the problem and never echo a secret."""

from __future__ import annotations

import json

import pytest

from tests.cli.servers import PROCESSOR, Servers

BAD_LINES = [
    ("\n", "blank line"),
    ("{not json\n", "malformed JSON"),
    ("[1, 2]\n", "not a JSON object"),
    ('{"payload": "AAAA"}\n', "missing id"),
    ('{"id": 7, "payload": "AAAA"}\n', "id is not a non-empty string"),
    ('{"id": "no-payload"}\n', "missing payload"),
    ('{"id": "number", "payload": 12}\n', "payload is not a string"),
    ('{"id": "bad-b64", "payload": "not base64!"}\n', "bad base64 in payload"),
    ('{"id": "short", "payload": "AAAA"}\n', "DECRYPT_FAILED"),
]


def raw_with_bad_lines(tmp_path, server="A"):
    """The vector's raw file with every kind of bad line spread between its records; returns
    the file and the expected stderr lines of the rejections."""
    good = PROCESSOR.raw(server).read_text().splitlines(keepends=True)
    duplicate = (good[0], "duplicate id")
    bad = BAD_LINES + [duplicate]
    lines, expected = [], []
    for index, text in enumerate(good):
        lines.append(text)
        for line, reason in bad[2 * index : 2 * index + 2]:
            lines.append(line)
            record_id = _id_of(line)
            where = f"line {len(lines)}" + (f" (id {record_id})" if record_id else "")
            expected.append((where, reason))
    path = tmp_path / "raw" / "data.ndjson"
    path.parent.mkdir()
    path.write_text("".join(lines))
    return path, expected, len(lines)


def _id_of(line):
    try:
        record_id = json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None
    return record_id if isinstance(record_id, str) and record_id else None


def _expected_stderr(step, expected, total):
    reasons = sorted({reason for _, reason in expected})
    counts = ", ".join(
        f"{reason}: {sum(1 for _, r in expected if r == reason)}" for reason in reasons
    )
    rejections = "".join(f"{step}: {where}: {reason}\n" for where, reason in expected)
    return rejections + f"{step}: {len(expected)} errors out of {total} total ({counts})\n"


def test_bad_records_are_counted_and_the_good_ones_keep_libprio_bytes(invoke, tmp_path):
    """A rejected line draws no evaluation point, so the good records' packets are still the
    recorded ones."""
    raw, expected, total = raw_with_bad_lines(tmp_path)
    assert len(expected) == 10
    result = invoke(
        ["verify1", *PROCESSOR.server_args("A"), "--input", raw, "--output", tmp_path / "v1"]
    )
    assert result.stdout == ""
    assert result.stderr == _expected_stderr("verify1", expected, total)
    recorded = PROCESSOR.intermediate("A", "internal", "verify1").read_bytes()
    assert (tmp_path / "v1" / "data.ndjson").read_bytes() == recorded

    result = invoke(
        ["aggregate", *PROCESSOR.server_args("A"), "--input", raw,
         "--input-internal", PROCESSOR.intermediate("A", "internal", "verify2"),
         "--input-external", PROCESSOR.intermediate("A", "external", "verify2"),
         "--output", tmp_path / "agg"]
    )  # fmt: skip
    assert result.stderr == _expected_stderr("aggregate", expected, total)
    aggregate = json.loads((tmp_path / "agg" / "data.ndjson").read_text())
    recorded = json.loads(PROCESSOR.intermediate("A", "internal", "aggregate").read_text())
    assert aggregate == {"payload": recorded["payload"], "error": 10, "total": 15}


@pytest.mark.parametrize("convention", ["per-record", "fixed"])
def test_bad_records_in_every_step_of_both_conventions(convention, invoke, tmp_path):
    """Each server step on its own previous output (both as its own and the peer's, so that
    no proof checks): the same rejections, in line order, and no crash."""
    raw, expected, total = raw_with_bad_lines(tmp_path)
    args = [*PROCESSOR.server_args("A"), "--evaluation-point", convention, "--input", raw]
    previous = None
    for step in ["verify1", "verify2", "aggregate"]:
        inputs = ["--input-internal", previous, "--input-external", previous] if previous else []
        result = invoke([step, *args, *inputs, "--output", tmp_path / step])
        previous = tmp_path / step / "data.ndjson"
        if step != "aggregate":
            assert result.stderr == _expected_stderr(step, expected, total), step
            assert len(previous.read_text().splitlines()) == 5
    aggregate = json.loads(previous.read_text())
    assert (aggregate["error"], aggregate["total"]) == (15, 15)


def test_missing_peer_packet_costs_only_that_record(invoke, tmp_path):
    """Unlike prio-processor, the record is loaded before its peer packet is looked up, so the
    evaluation points of the later records do not shift."""
    external = PROCESSOR.intermediate("A", "external", "verify1").read_text().splitlines(True)
    missing = json.loads(external[1])["id"]
    truncated = tmp_path / "external.ndjson"
    truncated.write_text("".join(external[:1] + external[2:]))
    result = invoke(
        ["verify2", *PROCESSOR.server_args("A"), "--input", PROCESSOR.raw("A"),
         "--input-internal", PROCESSOR.intermediate("A", "internal", "verify1"),
         "--input-external", truncated, "--output", tmp_path / "v2"]
    )  # fmt: skip
    assert result.stderr == (
        f"verify2: line 2 (id {missing}): no external verify1 packet\n"
        "verify2: 1 errors out of 5 total (no external verify1 packet: 1)\n"
    )
    recorded = PROCESSOR.intermediate("A", "internal", "verify2").read_text().splitlines(True)
    assert (tmp_path / "v2" / "data.ndjson").read_text() == "".join(recorded[:1] + recorded[2:])


def test_unusable_lines_of_a_peer_file_are_reported_and_ignored(invoke, tmp_path):
    external = PROCESSOR.intermediate("A", "external", "verify2").read_text().splitlines(True)
    broken_id = json.loads(external[3])["id"]
    external[3] = json.dumps({"id": broken_id, "payload": "%%%"}) + "\n"
    peer = tmp_path / "external.ndjson"
    peer.write_text("".join(["garbage\n", *external]))
    result = invoke(
        ["aggregate", *PROCESSOR.server_args("A"), "--input", PROCESSOR.raw("A"),
         "--input-internal", PROCESSOR.intermediate("A", "internal", "verify2"),
         "--input-external", peer, "--output", tmp_path / "agg"]
    )  # fmt: skip
    assert result.stderr == (
        "aggregate: warning: --input-external line 1: malformed JSON (ignored)\n"
        f"aggregate: line 4 (id {broken_id}): external verify2 packet: bad base64 in payload\n"
        "aggregate: 1 errors out of 5 total (external verify2 packet: bad base64 in payload: 1)\n"
    )
    aggregate = json.loads((tmp_path / "agg" / "data.ndjson").read_text())
    assert (aggregate["error"], aggregate["total"]) == (1, 5)


def test_empty_raw_file_gives_a_zero_total_share(invoke, tmp_path):
    empty = tmp_path / "data.ndjson"
    empty.write_text("")
    for convention in ["per-record", "fixed"]:
        out = tmp_path / convention
        result = invoke(
            ["aggregate", *PROCESSOR.server_args("A"), "--evaluation-point", convention,
             "--input", empty, "--input-internal", empty, "--input-external", empty,
             "--output", out]
        )  # fmt: skip
        assert result.stderr == "aggregate: 0 errors out of 0 total\n"
        aggregate = json.loads((out / "data.ndjson").read_text())
        assert (aggregate["error"], aggregate["total"]) == (0, 0)


# --- options -------------------------------------------------------------------------------

SECRET_HEX = "BD6BB9BEB089DBA6B6A75B4455A615D577699F973FAD9E327A33D9528B5C7F64"


def verify1_args(tmp_path, **changes):
    options = dict(zip(PROCESSOR.server_args("A")[::2], PROCESSOR.server_args("A")[1::2]))
    options.update(changes)
    args = [item for pair in options.items() for item in pair if item is not None]
    return ["verify1", *args, "--input", PROCESSOR.raw("A"), "--output", tmp_path]


def invalid(option, env, message):
    """click's wording for an option that can also come from the environment."""
    return f"Invalid value for '{option}' (env var: '{env}'): {message}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--private-key-hex": SECRET_HEX[:10]},
         invalid("--private-key-hex", "PRIVATE_KEY_HEX", "must be 64 hex characters, got 10")),
        ({"--private-key-hex": "Z" + SECRET_HEX[1:]},
         invalid("--private-key-hex", "PRIVATE_KEY_HEX",
                 "must be 64 hex characters (0-9, A-F)")),
        ({"--private-key-hex": "00" + SECRET_HEX[2:]},
         "Invalid value for '--private-key-hex': does not belong to --public-key-hex-internal"),
        ({"--public-key-hex-external": "AB"},
         invalid("--public-key-hex-external", "PUBLIC_KEY_HEX_EXTERNAL",
                 "must be 64 hex characters, got 2")),
        ({"--shared-secret": "nedME1QT1TS+7asOVOBq"},
         invalid("--shared-secret", "SHARED_SECRET", "must encode 16 bytes, got 15 bytes")),
        ({"--shared-secret": "ned*ME1QT1TS+7asOVOBqnA=="},
         invalid("--shared-secret", "SHARED_SECRET", "is not valid base64")),
        ({"--server-id": "C"},
         invalid("--server-id", "SERVER_ID", "'C' is not one of 'A', 'B'.")),
        ({"--n-data": "0"},
         invalid("--n-data", "N_DATA", "0 is not in the range 1<=x<=262143.")),
        ({"--prg-mode": "sha"},
         invalid("--prg-mode", "PRG_MODE", "'sha' is not one of 'raw', 'hash'.")),
        ({"--submission-date": "2024-13-01", "--evaluation-point": "fixed"},
         invalid("--submission-date", "SUBMISSION_DATE",
                 "'2024-13-01' is not a date in the form YYYY-MM-DD")),
    ],
)  # fmt: skip
def test_bad_options_are_usage_errors_without_secrets(changes, message, invoke, tmp_path):
    result = invoke(verify1_args(tmp_path, **changes), expect=2)
    assert result.stdout == ""
    assert result.stderr.endswith(f"Error: {message}\n")
    assert "Traceback" not in result.stderr
    for secret in (SECRET_HEX, SECRET_HEX[:10], "00" + SECRET_HEX[2:], PROCESSOR.shared_seed):
        assert secret not in result.stderr
    assert not (tmp_path / "data.ndjson").exists()


def test_missing_input_file_is_a_usage_error(invoke, tmp_path):
    args = verify1_args(tmp_path)
    args[args.index("--input") + 1] = tmp_path / "nope.ndjson"
    result = invoke(args, expect=2)
    assert "Invalid value for '--input' (env var: 'INPUT'): File " in result.stderr
    assert "does not exist." in result.stderr


def test_options_come_from_the_environment(invoke, tmp_path):
    servers = PROCESSOR
    env = {
        "BATCH_ID": servers.batch_id, "N_DATA": str(servers.n_data), "PRG_MODE": "raw",
        "SERVER_ID": "B", "PRIVATE_KEY_HEX": servers.keys["B"]["private_key"],
        "SHARED_SECRET": servers.shared_seed,
        "PUBLIC_KEY_HEX_INTERNAL": servers.keys["B"]["public_key"],
        "PUBLIC_KEY_HEX_EXTERNAL": servers.keys["A"]["public_key"],
        "INPUT": str(servers.raw("B")), "OUTPUT": str(tmp_path / "deep" / "er"),
    }  # fmt: skip
    invoke(["verify1"], env=env)
    recorded = servers.intermediate("B", "internal", "verify1").read_bytes()
    assert (tmp_path / "deep" / "er" / "data.ndjson").read_bytes() == recorded


# --- encode-shares -------------------------------------------------------------------------


def encode_args(tmp_path, lines, n_data=5, **changes):
    client = tmp_path / "client.ndjson"
    client.write_text(lines)
    servers = Servers("hash", n_data, "test", PROCESSOR.shared_seed, PROCESSOR.keys)
    options = dict(zip(servers.client_args()[::2], servers.client_args()[1::2]))
    options.update(changes)
    return [
        "encode-shares", *[item for pair in options.items() for item in pair],
        "--input", client, "--output-A", tmp_path / "a", "--output-B", tmp_path / "b",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('{"payload": [1, 0, 1, 0, 1]}\n{"payload": [1, 2, 0, 0, 0]}\n',
         "line 2: value 2 at position 1 is not 0 or 1"),
        ('{"payload": [1, 0, -1, 0, 1]}\n', "line 1: value -1 at position 2 is not 0 or 1"),
        ('{"payload": [1, 0, true, 0, 1]}\n', "line 1: value true at position 2 is not 0 or 1"),
        ('{"payload": [1, 0, 1.0, 0, 1]}\n', "line 1: value 1.0 at position 2 is not 0 or 1"),
        ('{"payload": [1, 0, "1", 0, 1]}\n', 'line 1: value "1" at position 2 is not 0 or 1'),
        ('{"payload": [1, 0, 1, 0]}\n', "line 1: payload has 4 values, --n-data is 5"),
        ('{"payload": [1, 0, 1, 0, 1, 1]}\n', "line 1: payload has 6 values, --n-data is 5"),
        ('{"payload": "10101"}\n', "line 1: payload is not a list"),
        ('{"values": [1, 0, 1, 0, 1]}\n', 'line 1: not an object with a "payload"'),
        ("\n[1, 0]\n", 'line 2: not an object with a "payload"'),
        ('{"payload": [1, 0, 1, 0, 1]\n', "line 1: malformed JSON"),
    ],
)  # fmt: skip
def test_encode_rejects_bad_client_input(lines, message, invoke, tmp_path):
    result = invoke(encode_args(tmp_path, lines), expect=2)
    assert result.stderr.endswith(f"Error: Invalid value for '--input': {message}\n")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_encode_rejects_bad_keys_and_same_output_dirs(invoke, tmp_path):
    lines = '{"payload": [1, 0, 1, 0, 1]}\n'
    result = invoke(encode_args(tmp_path, lines, **{"--public-key-hex-internal": "00"}), expect=2)
    assert result.stderr.endswith(
        "Error: "
        + invalid(
            "--public-key-hex-internal",
            "PUBLIC_KEY_HEX_INTERNAL",
            "must be 64 hex characters, got 2",
        )
        + "\n"
    )
    args = encode_args(tmp_path, lines)
    args[args.index("--output-B") + 1] = tmp_path / "a"
    result = invoke(args, expect=2)
    assert result.stderr.endswith(
        "Error: --output-A and --output-B must be different directories\n"
    )


def test_encode_skips_blank_lines(invoke, tmp_path):
    result = invoke(encode_args(tmp_path, '\n{"payload": [1, 0, 1, 0, 1]}\n\n'))
    assert result.stderr == "encode-shares: 1 reports encoded\n"
    assert len((tmp_path / "a" / "client.ndjson").read_text().splitlines()) == 1


# --- publish -------------------------------------------------------------------------------


def publish_args(tmp_path, internal, external, server="A"):
    return ["publish", *PROCESSOR.server_args(server), "--input-internal", internal,
            "--input-external", external, "--output", tmp_path / "out"]  # fmt: skip


def test_publish_rejects_files_that_are_no_aggregates(invoke, tmp_path):
    good = PROCESSOR.intermediate("A", "internal", "aggregate")
    for content, message in [
        ("{", "not a JSON aggregate file"),
        ('{"error": 0}', 'not an aggregate: no "payload" string'),
        ('{"payload": "@@"}', "bad base64 in payload"),
    ]:
        bad = tmp_path / "bad.ndjson"
        bad.write_text(content)
        result = invoke(publish_args(tmp_path, good, bad), expect=2)
        assert result.stderr.endswith(f"Error: Invalid value for '--input-external': {message}\n")


def test_publish_rejects_two_shares_of_the_same_server(invoke, tmp_path):
    share_a = PROCESSOR.intermediate("A", "internal", "aggregate")
    result = invoke(publish_args(tmp_path, share_a, share_a), expect=2)
    assert "Error: the total shares do not combine (" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_batch_id_libprio_cannot_take_is_a_usage_error(invoke, tmp_path):
    result = invoke(verify1_args(tmp_path, **{"--batch-id": "a\x00b"}), expect=2)
    assert result.stderr.endswith(
        "Error: libprio rejects the configuration: "
        "config (batch id contains NUL) failed: invalid argument\n"
    )


def test_an_output_that_cannot_be_created_is_an_error_without_traceback(invoke, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke(verify1_args(tmp_path / "file" / "sub"), expect=1)
    assert result.stderr == f"Error: Not a directory: {tmp_path / 'file' / 'sub'}\n"
