"""The two verification rounds of a partition, joined through storage with the peer's packets.

Each step is idempotent: its output has a deterministic name, is written create-only and is
deterministic, so a redelivered message (or both halves of a join arriving at once) only
re-sends what was already sent, and the receiver's create-only write absorbs it.
"""

from __future__ import annotations

import logging
import threading

import libprio_ctypes as prio
from services.common import telemetry, topology
from services.common.storage import Storage
from services.protocol import fingerprints, hints, opened_keys, outcome, pb, retry, shares
from services.protocol.keys import ServerKeys
from services.protocol.layout import PartitionKey
from services.verifier import anti_replay
from services.verifier.anti_replay import AntiReplay

log = logging.getLogger("prio_stream.verifier")
# The servers used different shared-secret versions for the partition's date.
SHARED_SECRET_MISMATCH = pb.Reason.REASON_SHARED_SECRET_MISMATCH


class PartitionMismatch(ValueError):
    """The peer's packets are for a different list of reports: cannot be processed, ever."""


class Verification:
    def __init__(self, ctx):
        self.settings = ctx.settings
        self.storage: Storage = ctx.storage
        self.transport = ctx.transport
        self.keys = ServerKeys(ctx.settings)
        self.private = ctx.settings.private_bucket
        self.telemetry = ctx.telemetry
        self.server_id = ctx.settings.server_id
        self.anti_replay = AntiReplay(ctx.storage, self.private,
                                      ctx.settings.replay_retention_days,
                                      ctx.settings.ping_clock_skew_seconds)
        self.reports = outcome.reports_counter(ctx.telemetry)
        # Which key of the ring decrypted: an old key is retired once it opens nothing.
        self.opened = ctx.telemetry.counter("prio.verifier.reports_opened", unit="{report}",
                                            description="reports decrypted, by server, batch "
                                                        "and fingerprint of the key that opened "
                                                        "them")
        # Partitions this process loaded whose validity is not decided yet: they wait for
        # the peer's packets (a process's own view; it starts empty).
        self._awaiting: set[PartitionKey] = set()
        self._awaiting_lock = threading.Lock()
        ctx.telemetry.gauge("prio.verifier.awaiting_peer", self._backlog, unit="{partition}",
                            description="partitions loaded by this process, awaiting the "
                                        "peer's verify1/verify2")

    def _backlog(self):
        with self._awaiting_lock:
            return [(len(self._awaiting), {"prio.server_id": self.server_id})]

    def _span(self, name: str, part: PartitionKey, **counts: int):
        return self.telemetry.stage(name, part.span_attributes(self.server_id, **counts))

    def _log(self, stage: str, part: PartitionKey, level: int = logging.INFO,
             **fields) -> None:
        """One line per partition stage: counts only, never a packet, a share or a key."""
        log.log(level, f"partition {stage}", extra={
            "stage": stage, "server": self.server_id, **part.attributes(), **fields})

    # --- round 1: own partition in, verify1 out

    def on_partition(self, notice: pb.PartitionNotice) -> None:
        if notice.schema_version != shares.SCHEMA_VERSION:
            # Not retried into success: the message ends in the dead letters, for an operator.
            raise PartitionMismatch(f"unknown partition schema version {notice.schema_version}")
        part = self._check_notice(notice)
        with self._span("verifier.load_partition", part, reports=notice.report_count) as span:
            own = self._own_verify1(notice)
            span.set_attribute("prio.loaded_reports",
                               sum(s == outcome.OK for s in own.load_status))
        with self._awaiting_lock:  # until decided (at once if it is already: _try_verified)
            self._awaiting.add(part)
        self.send(topology.VERIFY1, own)
        self._log("verify1 sent", part, reports=len(own.load_status))
        self._try_verify2(part)

    def _own_verify1(self, notice: pb.PartitionNotice) -> pb.Verify1Partition:
        part = PartitionKey.from_ref(notice.partition)
        key, pid = part.batch, part.partition_id
        stored = self._read(part.internal("verify1"), pb.Verify1Partition)
        if stored is not None:
            return stored
        # Only this server's inbox, at the name the layout derives (never where a notice points).
        lines = shares.decode(self.storage.read(self.settings.inbox_bucket, part.raw()))
        report_ids = [line.report_id for line in lines]
        if shares.ids_digest(report_ids) != notice.report_ids_sha256:
            raise PartitionMismatch("the stored partition is not the one the notice names")
        packets = [shares.packet(line) for line in lines]
        prints = [fingerprints.of_packet(p) for p in packets]
        verdicts = self.anti_replay.decide(key, pid, prints)
        loaded, status = self._load(part, packets, verdicts)
        stored = self.anti_replay.record(key, pid, prints, verdicts,
                                         [s == outcome.OK for s in status])
        if stored != verdicts:  # a concurrent load of this partition decided first
            loaded, status = self._load(part, packets, stored)
        packets = loaded.verify1 if loaded else [None] * len(status)
        verify1 = pb.Verify1Partition(
            partition=part.to_ref(), sender=self.keys.pb_server,
            packets=[p or b"" for p in packets], load_status=status,
            report_ids_sha256=notice.report_ids_sha256, share_fingerprints=fingerprints.pack(prints),
            shared_secret_commitment=self.keys.secret_commitment(part.submission_date),
        )
        # State first: whoever finds verify1 stored may rely on the state (and the loaded sum,
        # where anything loaded) being there.
        self.storage.create(self.private, part.internal("state"),
                            loaded.state if loaded else b"")
        if loaded:  # the aggregator's start: it then decrypts only the loaded-but-invalid
            self.storage.create(self.private, part.internal("loaded_sum"), loaded.loaded_sum)
        self._record_opened(part, loaded)
        # For the batch close, which counts a report id once across partitions.
        self.storage.create(self.private, part.internal("report_ids"),
                            "\n".join(report_ids).encode())
        if self.storage.create(self.private, part.internal("verify1"),
                               verify1.SerializeToString()):
            self._log("loaded", part, reports=len(status),
                      loaded=sum(s == outcome.OK for s in status),
                      rejected=outcome.rejected_counts(status))
        return verify1

    def _load(self, part: PartitionKey, packets: list[bytes | None], verdicts: list[int]):
        """Decrypts, parses and evaluates every report once, at the partition's point; a share
        the anti-replay refused (seen before, or of a date out of the window) is not even
        decrypted."""
        rejected = [anti_replay.REFUSED.get(v)
                    or (pb.Reason.REASON_BAD_ENCODING if p is None else None)
                    for p, v in zip(packets, verdicts, strict=True)]
        if all(r is not None for r in rejected):
            return None, rejected
        config = self.keys.config(part.batch_id)
        point = prio.partition_evaluation_point(
            self.keys.shared_secret(part.submission_date), part.batch_id, part.submission_date,
            part.partition_id,
            config.n_data)
        # A rejected report is loaded as an empty packet, so positions stay aligned; its reason
        # is the rejection's whatever the core says about the empty packet.
        loaded = prio.load_partition(config, self.keys.server_id, self.keys.keyring,
                                     [b"" if r is not None else p
                                      for p, r in zip(packets, rejected)], point)
        status = [r if r is not None else outcome.from_core(s)
                  for r, s in zip(rejected, loaded.status, strict=True)]
        return loaded, status

    # --- round 2: both verify1 in, verify2 out

    def on_peer_verify1(self, peer: pb.Verify1Partition) -> None:
        self._check_sender(peer.sender)
        if len(peer.share_fingerprints) != fingerprints.BYTES * len(peer.packets):
            raise PartitionMismatch("the peer's share fingerprints do not match its packets")
        part = PartitionKey.from_ref(peer.partition)
        self.storage.create(self.private, part.external("verify1"), peer.SerializeToString())
        self._try_verify2(part)

    def _try_verify2(self, part: PartitionKey) -> None:
        own = self._read(part.internal("verify1"), pb.Verify1Partition)
        peer = self._read(part.external("verify1"), pb.Verify1Partition)
        if own is None or peer is None:
            return  # the other half completes the step when it arrives
        _check_same_reports(own, peer)
        if _secrets_differ(own, peer):  # no proof could pass: decided without verify2
            self._try_verified(part)
            return
        with self._span("verifier.verify2", part, reports=len(own.load_status)):
            verify2 = self._read(part.internal("verify2"), pb.Verify2Partition)
            if verify2 is None:
                verify2 = self._verify2(part, own, peer)
                self.storage.create(self.private, part.internal("verify2"),
                                    verify2.SerializeToString())
            self.send(topology.VERIFY2, verify2)
        self._log("verify2 sent", part, reports=len(verify2.status))
        self._try_verified(part)

    def _verify2(self, part: PartitionKey, own: pb.Verify1Partition,
                 peer: pb.Verify1Partition) -> pb.Verify2Partition:
        state = self.storage.read(self.private, part.internal("state"))
        count = len(own.load_status)
        if state:
            packets, reasons = prio.verify2_partition(
                self.keys.config(part.batch_id), state,
                [p if s == outcome.OK else None for p, s in zip(peer.packets, peer.load_status)])
            status = [outcome.from_core(r) for r in reasons]
        else:  # nothing loaded: no state, every report already rejected at load
            packets, status = [None] * count, list(own.load_status)
        return pb.Verify2Partition(
            partition=part.to_ref(), sender=self.keys.pb_server,
            packets=[p or b"" for p in packets], status=status,
            report_ids_sha256=own.report_ids_sha256)

    # --- the end: both verify2 in, which reports are valid

    def on_peer_verify2(self, peer: pb.Verify2Partition) -> None:
        self._check_sender(peer.sender)
        part = PartitionKey.from_ref(peer.partition)
        self.storage.create(self.private, part.external("verify2"), peer.SerializeToString())
        self._try_verified(part)

    def _try_verified(self, part: PartitionKey) -> None:
        verified = self._read(part.internal("verified"), pb.PartitionVerified)
        if verified is None:
            records = self._records(part)
            if records is None:
                return  # the other half completes the step when it arrives
            with self._span("verifier.decide_validity", part) as span:
                verified = self._verified(part, records)
                if self.storage.create(self.private, part.internal("verified"),
                                       verified.SerializeToString()):
                    self._count(verified)
                    self._log_verified(part, verified)
                span.set_attributes(telemetry.attributes(
                    reports=verified.report_count, valid_reports=verified.valid_count))
        with self._awaiting_lock:
            self._awaiting.discard(part)
        self.publish_verified(part, verified.SerializeToString())

    def publish_verified(self, part: PartitionKey, data: bytes) -> None:
        """To this server's aggregator."""
        self.transport.publish(self.settings.project_id, topology.VERIFIED, data,
                               part.attributes())

    def _records(self, part: PartitionKey) -> list | None:
        """Own and peer verify1, own and peer verify2; None until all four are stored (only
        both verify1 when they name different shared-secret versions: no verify2 is sent)."""
        records = [
            self._read(part.internal("verify1"), pb.Verify1Partition),
            self._read(part.external("verify1"), pb.Verify1Partition),
        ]
        if None not in records and _secrets_differ(*records):
            return [*records, None, None]
        records += [
            self._read(part.internal("verify2"), pb.Verify2Partition),
            self._read(part.external("verify2"), pb.Verify2Partition),
        ]
        return None if any(r is None for r in records) else records

    def _verified(self, part: PartitionKey, records: list) -> pb.PartitionVerified:
        own1, peer1, own2, peer2 = records
        if own2 is None:
            return self._secret_mismatch(part, own1, peer1)
        _check_same_reports(own2, peer2)
        valid = prio.valid_mask(_packets(own2), _packets(peer2))
        a1, b1 = (own1, peer1) if self.keys.server_id == "A" else (peer1, own1)
        a2, b2 = (own2, peer2) if self.keys.server_id == "A" else (peer2, own2)
        outcomes = outcome.report_outcomes(a1.load_status, b1.load_status, a2.status, b2.status,
                                           valid)
        return pb.PartitionVerified(
            partition=part.to_ref(), server=self.keys.pb_server, outcome=outcomes,
            report_count=len(outcomes), valid_count=sum(o == outcome.OK for o in outcomes))

    def _secret_mismatch(self, part: PartitionKey, own1: pb.Verify1Partition,
                         peer1: pb.Verify1Partition) -> pb.PartitionVerified:
        """Every report the servers both loaded is SHARED_SECRET_MISMATCH (the same on both:
        each sees the other's commitment differ), not a flood of INVALID_PROOF."""
        log.error("the peer derived this partition's evaluation point from another shared-"
                  "secret version: SHARED_SECRET / SHARED_SECRETS must hold the same versions, "
                  "from the same dates, on both servers (docs/runbook.md)",
                  extra=part.attributes())
        outcomes = [a if a != outcome.OK else b if b != outcome.OK else SHARED_SECRET_MISMATCH
                    for a, b in zip(own1.load_status, peer1.load_status, strict=True)]
        return pb.PartitionVerified(
            partition=part.to_ref(), server=self.keys.pb_server, outcome=outcomes,
            report_count=len(outcomes), valid_count=0)

    # --- helpers

    def send(self, topic: str, message) -> None:
        """To the peer's topic in the peer's project (cross-project publish)."""
        retry.publish(self.transport, self.settings.peer_project_id, topic,
                      message.SerializeToString(), self.settings,
                      PartitionKey.from_ref(message.partition).attributes())

    def _read(self, name: str, message_type):
        data = self.storage.read_or_none(self.private, name)
        return None if data is None else message_type.FromString(data)

    def _check_notice(self, notice: pb.PartitionNotice) -> PartitionKey:
        """A notice only says which partition of this server's inbox is complete: one naming
        another bucket or object, or an invalid partition, is refused (never retried into
        success: it ends in the dead letters, with the reason logged)."""
        try:
            part = PartitionKey.from_ref(notice.partition)
        except ValueError as error:
            raise PartitionMismatch(f"notice refused: {error}") from None
        if notice.bucket != self.settings.inbox_bucket or notice.object_name != part.raw():
            raise PartitionMismatch("notice refused: it names an object other than this "
                                    "server's inbox file of its partition")
        if part.batch_id not in (self.settings.data_config or {}):
            raise PartitionMismatch("notice refused: its batch id is not in DATA_CONFIG")
        return part

    def _check_sender(self, sender: int) -> None:
        if sender != self.keys.pb_peer:
            raise PartitionMismatch("a packet on the peer's topic not sent by the peer")

    def _record_opened(self, part: PartitionKey, loaded) -> None:
        """Reports each key opened, stored for status and counted once: when this call
        created the record."""
        opened = opened_keys.counts(self.keys.keyring.fingerprints,
                                    loaded.opened_by if loaded else [])
        if self.storage.create(self.private, part.internal("keys"), opened_keys.encode(opened)):
            labels = {"prio.server_id": self.server_id, "prio.batch_id": part.batch_id}
            for fingerprint, count in opened.items():
                self.opened.add(count, {**labels, "prio.key_fingerprint": fingerprint})

    def _log_verified(self, part: PartitionKey, verified: pb.PartitionVerified) -> None:
        """The partition's rejection summary, with the likely cause (a warning) when nearly
        all its reports fail for one reason."""
        rejected = outcome.rejected_counts(verified.outcome)
        cause = hints.likely_cause(rejected, verified.report_count)
        self._log("verified", part, logging.WARNING if cause else logging.INFO,
                  reports=verified.report_count, valid=verified.valid_count, rejected=rejected,
                  **({"likely_cause": cause} if cause else {}))

    def _count(self, verified: pb.PartitionVerified) -> None:
        """Once per partition and server: when this call created its verified record."""
        labels = {"prio.server_id": self.server_id,
                  "prio.batch_id": verified.partition.batch_id}
        for reason, count in outcome.rejected_counts(verified.outcome).items():
            self.reports.add(count, {**labels, "prio.outcome": "rejected", "prio.reason": reason})
        self.reports.add(verified.valid_count, {**labels, "prio.outcome": "valid",
                                                "prio.reason": ""})


def _packets(verify2: pb.Verify2Partition) -> list[bytes | None]:
    return [p if s == outcome.OK else None for p, s in zip(verify2.packets, verify2.status)]


def _secrets_differ(own: pb.Verify1Partition, peer: pb.Verify1Partition) -> bool:
    """Both state their version (a sender that states none is taken at its word)."""
    return bool(own.shared_secret_commitment and peer.shared_secret_commitment
                and own.shared_secret_commitment != peer.shared_secret_commitment)


def _check_same_reports(own, peer) -> None:
    if own.report_ids_sha256 != peer.report_ids_sha256 or len(own.packets) != len(peer.packets):
        raise PartitionMismatch("own and peer packets are for different report lists")
