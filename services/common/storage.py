"""The storage interface every service uses: create-only objects in named buckets."""

from __future__ import annotations

import abc
import datetime as dt


class ObjectNotFound(KeyError):
    """The object does not exist (yet)."""


class Storage(abc.ABC):
    """Objects are immutable once written: the system of record for every stage.

    Implementations: `GcsStorage` (google-cloud-storage, `if_generation_match=0`)
    and `LocalStorage` (a directory per bucket, exclusive create + atomic rename).
    """

    @abc.abstractmethod
    def create(self, bucket: str, name: str, data: bytes) -> bool:
        """Writes the object only if absent. True if this call created it, False if it existed.

        A False is not an error: outputs are deterministic, so an existing object
        holds what this call would have written (a redelivery or a lost ack).
        """

    @abc.abstractmethod
    def read(self, bucket: str, name: str) -> bytes:
        """The object's bytes; raises ObjectNotFound."""

    @abc.abstractmethod
    def exists(self, bucket: str, name: str) -> bool: ...

    @abc.abstractmethod
    def list(self, bucket: str, prefix: str) -> list[str]:
        """Names (sorted) of the objects under prefix."""

    @abc.abstractmethod
    def times(self, bucket: str, prefix: str) -> dict[str, dt.datetime]:
        """Each object under prefix with its creation time (UTC), in one listing: what status
        derives a batch's transition times and progress from (objects are never rewritten)."""

    @abc.abstractmethod
    def delete(self, bucket: str, name: str) -> None:
        """Removes the object if present (retention of expired anti-replay shards only)."""

    def read_at_most(self, bucket: str, name: str, limit: int) -> bytes:
        """The object's first limit + 1 bytes at most (more than limit: the object is larger),
        so that an object a caller names cannot make this process read without bound. Raises
        ObjectNotFound. Adapters override this fallback with a ranged read."""
        return self.read(bucket, name)[:limit + 1]

    def read_or_none(self, bucket: str, name: str) -> bytes | None:
        try:
            return self.read(bucket, name)
        except ObjectNotFound:
            return None
