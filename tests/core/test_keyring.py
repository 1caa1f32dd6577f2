"""Keyrings: a partition loads with several private keys, each report opened by the key its GCM tag
accepts, reported per report; the result does not depend on the ring's order."""

import pytest

from libprio_ctypes import (
    Client,
    Config,
    Keyring,
    PrioError,
    PrivateKey,
    Reason,
    Server,
    aggregate_partition,
    final,
    load_partition,
    sum_states,
    total_share_from_state,
    valid_mask,
    verify2_partition,
)

R = 987654321
# which of keys 0..2 each report's packet A is encrypted to; 3: a key of no ring
UNDER = [2, 2, 0, 1, 1, 2, 0, 3, 0, 1]
VALUES = [[i % 2, (i // 2) % 2, 1, 0, i % 3 == 0, 1, 0] for i in range(len(UNDER))]


@pytest.fixture
def ring3(pair):
    """Server A's keys 0..2 (plus one outside), and every report's packets."""
    keys = [PrivateKey.generate() for _ in range(4)]
    packets = []
    for under, values in zip(UNDER, VALUES):
        config = Config(pair.config.n_data, pair.config.batch_id, pair.config.prg_mode,
                        keys[under].public_key, pair.key_b.public_key)
        packets.append(Client(config).encode([int(v) for v in values]))
    return keys, [p[0] for p in packets], [p[1] for p in packets]


def test_each_report_names_the_key_that_opened_it(pair, ring3):
    keys, a, _ = ring3
    loaded = load_partition(pair.config, "A", Keyring(keys[:3]), a, R)
    assert loaded.opened_by == [u if u < 3 else None for u in UNDER]
    assert loaded.status == [Reason.OK if u < 3 else Reason.DECRYPT_FAILED for u in UNDER]
    assert [p is None for p in loaded.verify1] == [u == 3 for u in UNDER]


def test_the_ring_order_changes_only_the_indexes(pair, ring3):
    keys, a, _ = ring3
    first = load_partition(pair.config, "A", Keyring(keys[:3]), a, R)
    order = [2, 0, 1]
    second = load_partition(pair.config, "A", Keyring([keys[k] for k in order]), a, R)
    assert [None if i is None else order[i] for i in second.opened_by] == first.opened_by
    assert (second.status, second.verify1, second.state, second.loaded_sum) == (
        first.status, first.verify1, first.state, first.loaded_sum)


def test_a_mixed_partition_counts_exactly(pair, ring3):
    keys, a, b = ring3
    ring = Keyring(keys[:3])
    la = load_partition(pair.config, "A", ring, a, R)
    lb = load_partition(pair.config, "B", pair.key_b, b, R)
    v2a, _ = verify2_partition(pair.config, la.state, lb.verify1)
    v2b, _ = verify2_partition(pair.config, lb.state, la.verify1)
    mask = valid_mask(v2a, v2b)
    assert mask == [u < 3 for u in UNDER]
    shares = [total_share_from_state(pair.config, server, sum_states(pair.config, [state]))
              for server, state in (
                  ("A", aggregate_partition(pair.config, "A", ring, a, mask)),
                  ("B", aggregate_partition(pair.config, "B", pair.key_b, b, mask)))]
    expected = [sum(int(v[j]) for v, m in zip(VALUES, mask) if m) for j in range(7)]
    assert final(pair.config, *shares) == expected
    assert shares[0] == total_share_from_state(pair.config, "A", la.loaded_sum)


def test_a_removed_key_opens_nothing(pair, ring3):
    keys, a, _ = ring3
    loaded = load_partition(pair.config, "A", Keyring([keys[0], keys[1]]), a, R)
    assert loaded.status == [Reason.OK if u in (0, 1) else Reason.DECRYPT_FAILED for u in UNDER]
    assert loaded.opened_by.count(None) == UNDER.count(2) + UNDER.count(3)
    with pytest.raises(PrioError) as error:
        aggregate_partition(pair.config, "A", Keyring([keys[0]]), a, [True] * len(UNDER))
    assert error.value.reason == Reason.DECRYPT_FAILED


def test_one_key_is_the_ring_of_one(pair, ring3):
    keys, a, _ = ring3
    single = load_partition(pair.config, "A", keys[2], a, R)
    ring = load_partition(pair.config, "A", Keyring([keys[2]]), a, R)
    assert single == ring
    assert single.opened_by == [0 if u == 2 else None for u in UNDER]


def test_the_object_model_takes_a_ring(pair, ring3):
    keys, a, _ = ring3
    server = Server(pair.config, "A", Keyring([keys[1], keys[2], keys[0]]), pair.secret)
    verifier = server.verifier()
    for packet, under in zip(a, UNDER):
        if under == 3:
            with pytest.raises(PrioError) as error:
                verifier.set_data(packet, evaluation_point=R)
            assert error.value.reason == Reason.DECRYPT_FAILED
        else:
            verifier.set_data(packet, evaluation_point=R)


@pytest.mark.parametrize("count", [0, 17])
def test_ring_sizes_out_of_bounds_are_refused(count):
    with pytest.raises(PrioError) as error:
        Keyring([PrivateKey.generate() for _ in range(count)])
    assert error.value.reason == Reason.INVALID_ARGUMENT


def test_fingerprints_name_public_keys_only():
    key = PrivateKey.from_hex("11" * 32)
    ring = Keyring([key])
    assert ring.fingerprints == [key.public_key.fingerprint]
    assert len(key.public_key.fingerprint) == 8
    assert key.to_hex() not in repr(ring) and key.public_key.fingerprint in repr(ring)
