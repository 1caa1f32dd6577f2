"""The publisher's release records: its own, appended to its release log and sent to the peer,
and the peer's, checked against RELEASE_PUBLIC_KEY_HEX_EXTERNAL and compared with its own."""

from __future__ import annotations

import datetime as dt
import json
import logging

from services.common import topology
from services.common.admin import version_info
from services.protocol import layout, opened_keys, pb, releases, retry
from services.protocol.keys import ServerKeys, server_letter
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.publisher")


class PeerRecordRefused(ValueError):
    """The peer's release record cannot be taken: ends in the dead letters, to be re-driven
    once the setting it names is fixed."""


class Releases:
    def __init__(self, ctx, keys: ServerKeys):
        self.storage, self.transport, self.settings = ctx.storage, ctx.transport, ctx.settings
        self.private = ctx.settings.private_bucket
        self.keys = keys
        self.signing_key = ctx.settings.release_signing_key
        self.log = releases.ReleaseLog(ctx.storage, self.private)
        if self.signing_key is None:
            log.warning("RELEASE_SIGNING_KEY_HEX is not set: this publisher keeps no release "
                        "log and sends the peer no release record")

    # --- own

    def release(self, key: BatchKey, own: pb.TotalShare) -> None:
        """After the result is stored: the batch's entry in the log, its copy beside the result,
        the record to the peer, then the comparison if the peer's is here."""
        if self.signing_key is None:
            return
        data = self.storage.read_or_none(self.private, layout.release(key))
        if data is None:
            result = self.storage.read(self.private, layout.result(key))
            data = self.log.append(key, self._record(key, own, result), self.signing_key)
            self.storage.create(self.private, layout.release(key), data)
        message = pb.ReleaseRecord(batch_id=key.batch_id, submission_date=key.submission_date,
                                   sender=self.keys.pb_server, signed_record=data)
        retry.publish(self.transport, self.settings.peer_project_id, topology.RELEASES,
                      message.SerializeToString(), self.settings, key.attributes())
        self.compare(key)

    def _record(self, key: BatchKey, own: pb.TotalShare, result: bytes) -> dict:
        counts = json.loads(result)["payload"]
        version = version_info()
        return {
            "format": releases.FORMAT, "server": self.keys.server_id, **key.attributes(),
            "counts_sha256": releases.counts_digest(counts),
            "result_sha256": releases.digest(result),
            "reports": {"total": own.report_count, "valid": own.valid_count,
                        "rejected": dict(sorted(own.rejected.items()))},
            "partitions": sorted(own.partition_ids),
            # Which of this server's keys opened the batch's reports, and how many each.
            "keys_opened": opened_keys.batch_counts(self.storage, self.private, key),
            "code_version": {"version": str(version.get("version")),
                             "commit": str(version.get("commit"))},
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    # --- the peer's

    def on_peer_record(self, message: pb.ReleaseRecord) -> None:
        if message.sender != self.keys.pb_peer:
            raise PeerRecordRefused("a release record on the peer's topic not sent by the peer")
        key = BatchKey.of(message)
        peer_key = self.settings.release_public_key_hex_external
        if peer_key is None:
            raise PeerRecordRefused("RELEASE_PUBLIC_KEY_HEX_EXTERNAL is not set: the peer's "
                                    "release record cannot be checked")
        try:
            record = releases.open_signed(message.signed_record, bytes.fromhex(peer_key))
        except releases.BadRecord as error:
            log.error("the peer's release record is refused: check RELEASE_PUBLIC_KEY_HEX_"
                      "EXTERNAL against the peer's signing key",
                      extra={**key.attributes(), "reason": str(error)})
            raise PeerRecordRefused(f"the peer's release record: {error}") from None
        if releases.batch_of(record) != key or \
                record.get("server") != server_letter(self.keys.pb_peer):
            raise PeerRecordRefused("the peer's release record names another batch or server")
        self.storage.create(self.private, layout.peer_release(key), message.signed_record)
        self.compare(key)

    def compare(self, key: BatchKey) -> None:
        """Once both records are here: `release.json` beside the batch's status says whether
        they agree (same counts, partitions and reports), or in what they differ."""
        name = layout.batch_record(key, "release.json")
        own = self.storage.read_or_none(self.private, layout.release(key))
        peer = self.storage.read_or_none(self.private, layout.peer_release(key))
        if own is None or peer is None or self.storage.exists(self.private, name):
            return
        differ = releases.differences(releases.record_of(own), releases.record_of(peer))
        if differ:
            log.error("the servers' release records of a batch disagree",
                      extra={**key.attributes(), "fields": ",".join(differ)})
        self.storage.create(self.private, name, releases.canonical(
            {"agreed": not differ, "differences": differ}))
