"""GcsStorage: the storage interface on Google Cloud Storage (or STORAGE_EMULATOR_HOST)."""

from __future__ import annotations

import datetime as dt

from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from services.common.storage import ObjectNotFound, Storage


class GcsStorage(Storage):
    """Create-only writes with `if_generation_match=0`: GCS answers 412 if the object exists.

    The client retries transient failures itself; a create retried after a lost response
    finds its own object (412) and returns False, which callers treat as done.
    """

    def __init__(self, project: str | None = None, emulator_host: str | None = None):
        if emulator_host:
            endpoint = emulator_host if "://" in emulator_host else f"http://{emulator_host}"
            self.client = storage.Client(
                project=project or "emulator",
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": endpoint},
            )
        else:
            self.client = storage.Client(project=project)
        # The client's bucket-metadata cache only decorates its own OpenTelemetry spans (off
        # here), yet it fetches bucket metadata on a thread per cache miss and again on every
        # 404, and a join through storage reads many objects that are not there yet.
        self.client._bucket_metadata_cache = None

    def _blob(self, bucket: str, name: str) -> storage.Blob:
        return self.client.bucket(bucket).blob(name)

    def ensure_bucket(self, bucket: str) -> bool:
        """Creates the bucket if missing; True if this call created it."""
        try:
            self.client.create_bucket(bucket)
        except exceptions.Conflict:
            return False
        return True

    def create(self, bucket: str, name: str, data: bytes) -> bool:
        try:
            self._blob(bucket, name).upload_from_string(
                data, content_type="application/octet-stream", if_generation_match=0
            )
        except exceptions.PreconditionFailed:
            return False
        return True

    def read(self, bucket: str, name: str) -> bytes:
        try:
            # One read of the whole body (it is returned whole anyway), not 8 KiB chunks.
            return self._blob(bucket, name).download_as_bytes(single_shot_download=True)
        except exceptions.NotFound:
            raise ObjectNotFound(f"{bucket}/{name}") from None

    def read_at_most(self, bucket: str, name: str, limit: int) -> bytes:
        try:  # `end` is inclusive: limit + 1 bytes tell an object larger than limit
            return self._blob(bucket, name).download_as_bytes(start=0, end=limit,
                                                              single_shot_download=True)
        except exceptions.NotFound:
            raise ObjectNotFound(f"{bucket}/{name}") from None
        except exceptions.RequestRangeNotSatisfiable:  # an empty object has no byte 0
            return b""

    def exists(self, bucket: str, name: str) -> bool:
        return self._blob(bucket, name).exists()

    def list(self, bucket: str, prefix: str) -> list[str]:
        try:
            return sorted(blob.name for blob in self.client.list_blobs(bucket, prefix=prefix))
        except exceptions.NotFound:  # no such bucket: nothing under any prefix
            return []

    def times(self, bucket: str, prefix: str) -> dict[str, dt.datetime]:
        try:  # the listing carries each object's metadata: no request per object
            return {blob.name: blob.time_created
                    for blob in self.client.list_blobs(bucket, prefix=prefix)}
        except exceptions.NotFound:
            return {}

    def delete(self, bucket: str, name: str) -> None:
        try:
            self._blob(bucket, name).delete()
        except exceptions.NotFound:
            pass
