"""Ingest and both servers on one LocalStorage and one InProcessTransport, stepped by hand:
each `pump` pulls what a subscription holds and runs the service's handler on it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets

import libprio_ctypes as prio
from services.common import topology
from services.common.config import load_settings
from services.common.inprocess import InProcessTransport
from services.common.provision import Deployment, SubscriptionPolicy, provision
from services.common.runtime import ServiceContext, load_definition
from services.common.storage_local import LocalStorage
from services.common.telemetry import Telemetry
from services.ingest import pings
from services.protocol import releases
from services.registry import SERVICES

N_DATA = 8
BATCH = "test-0"
# Recent: ingest takes only dates inside REPLAY_RETENTION_DAYS (older pings are refused).
DATE = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()


class Cluster:
    def __init__(self, root, keys=None, previous=None, **overrides):
        """keys: servers A's and B's current private keys (None: generated); previous: per
        server ("A", "B") the previous keys of its keyring."""
        self.key_a, self.key_b = keys or (prio.PrivateKey.generate(), prio.PrivateKey.generate())
        self.secret = prio.generate_shared_secret()
        # Settings of one server only ({"A": {...}}), e.g. other shared-secret versions.
        per_server = overrides.pop("per_server", {})
        self.signing = {"A": secrets.token_bytes(32), "B": secrets.token_bytes(32)}
        self.storage = LocalStorage(root)
        self.transport = InProcessTransport()
        provision(self.transport, Deployment(), SubscriptionPolicy(min_backoff=0.0), self.storage)
        common = {"transport": "inprocess", "storage": "local", "local_storage_dir": root,
                  "prg_mode": "hash",  # the clients below encode in hash mode
                  "admin_auth": "none",
                  "data_config": {BATCH: N_DATA, "test-1": 4}, "retry_delay": 0.01,
                  "retry_limit": 1, "min_batch_size": 1, "partition_max_age_seconds": 0.2,
                  **overrides}
        self.settings = {"ingest": load_settings("ingest", **common)}
        for server, key, peer in (("A", self.key_a, self.key_b), ("B", self.key_b, self.key_a)):
            self.settings[server] = load_settings(
                "verifier", **common, server_id=server, private_key_hex=key.to_hex(),
                previous_private_keys_hex=",".join(
                    k.to_hex() for k in (previous or {}).get(server, ())) or None,
                shared_secret=None if "shared_secrets" in per_server.get(server, {})
                else base64.b64encode(self.secret).decode(),
                public_key_hex_internal=key.public_key.to_hex(),
                public_key_hex_external=peer.public_key.to_hex(),
                release_signing_key_hex=self.signing[server].hex(),
                release_public_key_hex_external=releases.public_key(
                    self.signing["B" if server == "A" else "A"]).hex(),
                **per_server.get(server, {}))
        self.contexts, self.services = {}, {}
        for label, name, side in [("ingest", "ingest", "ingest"),
                                  *((f"{n}-{s}", n, s) for s in "AB"
                                    for n in ("verifier", "aggregator", "publisher"))]:
            ctx = ServiceContext(self.settings[side], self.storage, self.transport,
                                 Telemetry.in_memory(label))
            self.contexts[label] = ctx
            self.services[label] = load_definition(name, ctx, SERVICES)

    def client(self, batch_id: str = BATCH) -> prio.Client:
        n_data = self.settings["ingest"].data_config[batch_id]
        return prio.Client(prio.Config(n_data, batch_id, prio.PrgMode.HASH,
                                       self.key_a.public_key, self.key_b.public_key))

    def ping(self, document_id: str, values, batch_id: str = BATCH, *, tamper_a=False,
             non_binary=False) -> bytes:
        a, b = self.client(batch_id).encode(values, allow_non_binary=non_binary)
        if tamper_a:
            a = a[:-1] + bytes([a[-1] ^ 1])
        return json.dumps(pings.ping(document_id, [(batch_id, a, b)],
                                     f"{DATE}T10:00:00Z")).encode()

    def pump(self, label: str, subscription: str, deliveries: int = 1) -> int:
        """Runs the handler on every message due on the subscription, each `deliveries` times
        (at-least-once delivery); returns how many messages."""
        settings = self.contexts[label].settings
        project = topology.subscription_project(subscription, settings)
        handler = self.services[label].handlers[subscription]
        done = 0
        while pulled := self.transport.pull(project, subscription, 100):
            for item in pulled:
                for _ in range(deliveries):
                    handler(item.message)
                self.transport.ack(project, subscription, [item.ack_id])
                done += 1
        return done

    def run_servers(self, twice: bool = False) -> None:
        """Delivers every server message (twice: each two times) until none is left."""
        while sum(self.pump(label, subscription, 2 if twice else 1)
                  for label, subscription in SERVER_SUBSCRIPTIONS):
            pass

    def drain(self, project: str, topic_subscription: str) -> list:
        pulled = self.transport.pull(project, topic_subscription, 1000)
        self.transport.ack(project, topic_subscription, [p.ack_id for p in pulled])
        return [p.message for p in pulled]


SERVER_SUBSCRIPTIONS = [
    (f"{service}-{server}", spec.name)
    for server in "AB"
    for spec in topology.SUBSCRIPTIONS if spec.side == "server"
    for service in [spec.service]
]
