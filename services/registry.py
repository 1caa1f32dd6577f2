"""The services this package provides, by name: what `prio-stream serve|worker NAME`, embedded
mode and the tests build (the runtime knows none of them)."""

from __future__ import annotations

from collections.abc import Callable

from services.aggregator import service as aggregator
from services.common.runtime import ServiceContext, ServiceDefinition
from services.ingest import service as ingest
from services.publisher import service as publisher
from services.verifier import service as verifier

SERVICES: dict[str, Callable[[ServiceContext], ServiceDefinition]] = {
    "ingest": ingest.build,
    "verifier": verifier.build,
    "aggregator": aggregator.build,
    "publisher": publisher.build,
}
