"""The storage and transport adapters that STORAGE and TRANSPORT choose."""

from __future__ import annotations

from services.common.config import Settings
from services.common.storage import Storage
from services.common.transport import Transport


def make_storage(settings: Settings) -> Storage:
    if settings.storage == "local":
        from services.common.storage_local import LocalStorage

        return LocalStorage(settings.local_storage_dir)
    from services.common.storage_gcs import GcsStorage

    return GcsStorage(settings.project_id, settings.storage_emulator_host)


def make_transport(settings: Settings) -> Transport:
    if settings.transport == "inprocess":
        from services.common.inprocess import InProcessTransport

        return InProcessTransport()
    from services.common.pubsub import PubSubTransport

    return PubSubTransport.from_settings(settings)
