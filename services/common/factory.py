"""The storage and transport adapters that STORAGE and TRANSPORT choose."""

from __future__ import annotations

from services.common.config import Settings
from services.common.storage import Storage
from services.common.transport import Transport


def make_storage(settings: Settings) -> Storage:
    if settings.storage == "local":
        from services.common.storage_local import LocalStorage

        storage: Storage = LocalStorage(settings.local_storage_dir)
    else:
        from services.common.storage_gcs import GcsStorage

        storage = GcsStorage(settings.project_id, settings.storage_emulator_host)
    if settings.faults:  # TEST ONLY
        from services.common import faults

        storage = faults.wrap_storage(storage, settings.faults)
    return storage


def make_transport(settings: Settings) -> Transport:
    if settings.transport == "inprocess":
        from services.common.inprocess import InProcessTransport

        transport: Transport = InProcessTransport()
    else:
        from services.common.pubsub import PubSubTransport

        transport = PubSubTransport.from_settings(settings)
    if settings.faults:  # TEST ONLY
        from services.common import faults

        transport = faults.wrap_transport(transport, settings.faults)
    return transport
