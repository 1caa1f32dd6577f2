"""Keyrings hold secrets: previous private keys are checked before any work (a ring no larger
than the core takes, no key twice), refused with one line naming the option, and never echoed,
logged or shown; what status and metrics show of a key is its public fingerprint."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

import libprio_ctypes as prio
from prio_cli.main import cli
from services.common.config import ConfigError, load_settings
from services.common.logging import JsonFormatter
from tests.cli.conftest import OPTION_ENV
from tests.cli.test_cli_bad_input import verify1_args
from tests.services.test_embedded import _embedded

KEYS = [prio.PrivateKey.generate() for _ in range(17)]
HEX = [key.to_hex() for key in KEYS]


def _server(**settings):
    return load_settings("aggregator", server_id="A", data_config={"b": 4},
                         private_key_hex=HEX[0], **settings)


@pytest.mark.parametrize(("previous", "problem"), [
    (f"{HEX[1]},{HEX[2][:-1]}", "comma-separated keys of 64 hexadecimal characters"),
    (",".join(HEX[1:17]), "holds 16 keys: at most 15"),
    (f"{HEX[1]},{HEX[1].lower()}", "holds a key twice"),
])
def test_bad_previous_keys_are_refused_naming_the_setting_never_a_key(previous, problem):
    with pytest.raises(ConfigError) as raised:
        _server(previous_private_keys_hex=previous)
    message = str(raised.value)
    assert message.startswith("invalid setting(s): PREVIOUS_PRIVATE_KEYS_HEX: ")
    assert problem in message and "\n" not in message
    assert not any(key[:16].lower() in message.lower() for key in HEX)


def test_the_current_key_listed_as_previous_is_refused_at_start():
    with pytest.raises(ConfigError) as raised:
        _server(previous_private_keys_hex=f"{HEX[1]},{HEX[0]}")
    assert str(raised.value).startswith("PREVIOUS_PRIVATE_KEYS_HEX holds PRIVATE_KEY_HEX")
    assert not any(key[:16] in str(raised.value) for key in HEX)


def test_previous_keys_are_in_no_repr_and_in_no_log_line():
    settings = _server(previous_private_keys_hex=f"{HEX[1]},{HEX[2]}")
    assert [k.hex().upper() for k in settings.private_keys] == HEX[:3]
    record = logging.makeLogRecord({"msg": "loaded", "previous_private_keys_hex": HEX[1],
                                    "private_keys": HEX[2]})
    shown = repr(settings) + str(settings) + JsonFormatter().format(record)
    assert not any(key in shown or key.lower() in shown for key in HEX[:3])


def test_the_embedded_command_refuses_a_key_given_twice_without_echoing_it(tmp_path):
    run = _embedded("--private-key-a", HEX[0], "--private-key-a", HEX[0], tmp_path=tmp_path)
    assert run.returncode == 2
    assert "--private-key-a" in run.stderr and "a key given twice" in run.stderr
    assert HEX[0] not in run.stdout + run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(("keys", "problem"), [
    (HEX[:17], "holds 17 keys: at most 16"),
    ([HEX[3], HEX[3]], "holds a key twice"),
])
def test_the_cli_refuses_a_bad_keyring_without_echoing_it(keys, problem, tmp_path):
    result = CliRunner().invoke(cli, [str(arg) for arg in verify1_args(
        tmp_path, **{"--private-key-hex": ",".join(keys)})], env=OPTION_ENV)
    assert result.exit_code == 2
    assert problem in result.stderr and "'--private-key-hex'" in result.stderr
    assert not any(key in result.stderr for key in keys)
