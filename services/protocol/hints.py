"""The likely cause when nearly all reports fail for one reason: a setup mistake, not bad
clients, named in what fixes it (a service's settings, or embedded mode's options)."""

from __future__ import annotations

from collections.abc import Mapping

# What fixes each cause, as the services' settings name it and as `prio-stream embedded`'s
# options do: one text per cause, two vocabularies.
SETTINGS = {
    "prg": "PRG_MODE",
    "secret": "SHARED_SECRET / SHARED_SECRETS",
    "keys": "PRIVATE_KEY_HEX of A and B, and the public keys the clients encode to",
    "batch": "the clients' batch id and DATA_CONFIG",
    "n_data": "n_data in DATA_CONFIG",
}
OPTIONS = {
    "prg": "--prg-mode",
    "secret": "--shared-secret",
    "keys": "--private-key-a and --private-key-b",
    "batch": "--batch-id, --data-config",
    "n_data": "n_data in --data-config",
}

# Nothing on the wire tells the PRG modes apart (docs: DESIGN, PRG mode), so a mode that
# differs from the clients' shows only as every proof failing; so does a shared secret that
# differs between the servers (the evaluation point is derived from it).
CAUSES = {
    "INVALID_PROOF": "the PRG mode may differ from the clients' ({prg}: raw for Firefox and "
                     "libprio <= 1.6, hash for later), or the servers' shared secrets differ "
                     "({secret})",
    "SHARED_SECRET_MISMATCH": "the servers hold different versions of the shared secret "
                              "for this date ({secret})",
    "DECRYPT_FAILED": "the keys may be swapped, or not those the clients encrypted to ({keys})",
    "BATCH_ID_MISMATCH": "the clients encoded another batch id ({batch})",
    "WRONG_LENGTH": "n_data may differ from the clients' ({n_data})",
}
# A reason this share of the reports fails for is the batch's, not a few bad clients'.
NEARLY_ALL = 0.9


def likely_cause(rejected: Mapping[str, int], reports: int,
                 names: Mapping[str, str] = SETTINGS) -> str | None:
    """"190 of 200 reports INVALID_PROOF: ..." when one reason of CAUSES holds nearly all of
    `reports`; None otherwise (rejected: counts by reason name)."""
    reason, count = max(rejected.items(), key=lambda item: item[1], default=(None, 0))
    if reports and reason in CAUSES and count >= NEARLY_ALL * reports:
        return f"{count} of {reports} reports {reason}: {CAUSES[reason].format(**names)}"
    return None
