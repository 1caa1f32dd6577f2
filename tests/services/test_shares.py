"""Partition share files: the seed's NDJSON byte for byte, and clear errors on bad files."""

from __future__ import annotations

import json

import pytest

from services.protocol import shares


def test_encode_is_what_json_dumps_writes_and_decodes_back():
    lines = [shares.ShareLine("8c9f-01", "AAEC/+8="), shares.ShareLine('odd "id"\u2028é', ""),
             shares.ShareLine("x\n", "YQ==")]
    data = shares.encode(lines)
    assert data == b"".join(json.dumps({"id": line.report_id, "payload": line.payload}).encode()
                            + b"\n" for line in lines)
    assert shares.decode(data) == lines


def test_decode_takes_crlf_and_blank_lines():
    data = b'{"id": "a", "payload": "YQ=="}\r\n\r\n{"id": "b", "payload": "Yg=="}'
    assert shares.decode(data) == [shares.ShareLine("a", "YQ=="), shares.ShareLine("b", "Yg==")]


@pytest.mark.parametrize(("data", "message"), [
    (b'{"id": "a", "payload": "YQ=="}\n{"id": "b"', "line 2 is not JSON"),
    (b'{"id": 1, "payload": "YQ=="}', 'line 1 is not {"id", "payload"}'),
    (b'["a", "YQ=="]', 'line 1 is not {"id", "payload"}'),
    (b'{"id": "\xff", "payload": "YQ=="}', "not UTF-8"),
])
def test_decode_names_what_is_wrong(data, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        shares.decode(data)


def test_packet_is_none_for_a_payload_that_is_not_base64():
    assert shares.packet(shares.ShareLine("a", "YQ==")) == b"a"
    assert shares.packet(shares.ShareLine("a", "Y Q==")) is None
    assert shares.packet(shares.ShareLine("a", "YQ")) is None
