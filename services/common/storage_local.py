"""LocalStorage: the storage interface on a directory per bucket (embedded runs, tests)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from services.common.storage import ObjectNotFound, Storage

# Objects are written here first, then hard-linked into place: readers never see a partial
# object, and link(2) fails if the name exists, which makes the create exclusive.
_STAGING = ".staging"


class LocalStorage(Storage):
    """`{root}/{bucket}/{name}`; create-only via a staged file and an exclusive hard link."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def _path(self, bucket: str, name: str) -> Path:
        if not bucket or bucket.startswith(".") or "/" in bucket:
            raise ValueError(f"invalid bucket name {bucket!r}")
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") for p in parts) or "\0" in name:
            raise ValueError(f"invalid object name {name!r}")
        return self.root / bucket / name

    def ensure_bucket(self, bucket: str) -> bool:
        """Creates the bucket (folder) if missing; True if this call created it."""
        folder = self._path(bucket, "x").parent
        if folder.is_dir():
            return False
        folder.mkdir(parents=True, exist_ok=True)
        return True

    def create(self, bucket: str, name: str, data: bytes) -> bool:
        path = self._path(bucket, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.root / _STAGING
        staging.mkdir(parents=True, exist_ok=True)
        temp = staging / uuid.uuid4().hex
        with open(temp, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        finally:
            temp.unlink()
        return True

    def read(self, bucket: str, name: str) -> bytes:
        try:
            return self._path(bucket, name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"{bucket}/{name}") from None

    def read_at_most(self, bucket: str, name: str, limit: int) -> bytes:
        try:
            with self._path(bucket, name).open("rb") as file:
                return file.read(limit + 1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"{bucket}/{name}") from None

    def exists(self, bucket: str, name: str) -> bool:
        return self._path(bucket, name).is_file()

    def list(self, bucket: str, prefix: str) -> list[str]:
        base = self.root / bucket
        self._path(bucket, "x")  # validates the bucket name
        # Walk only the deepest directory the prefix names, then filter like GCS does.
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        if ".." in prefix.split("/") or not start.is_dir():
            return []
        names = []
        for directory, _, files in os.walk(start):
            relative = Path(directory).relative_to(base).as_posix()
            for file in files:
                name = file if relative == "." else f"{relative}/{file}"
                if name.startswith(prefix):
                    names.append(name)
        return sorted(names)

    def times(self, bucket: str, prefix: str) -> dict[str, dt.datetime]:
        # A staged file is written whole, then linked: its mtime is the object's creation.
        found = {}
        for name in self.list(bucket, prefix):
            try:
                found[name] = dt.datetime.fromtimestamp(
                    self._path(bucket, name).stat().st_mtime, dt.UTC)
            except FileNotFoundError:  # deleted since the listing (expired shards only)
                continue
        return found

    def delete(self, bucket: str, name: str) -> None:
        try:
            self._path(bucket, name).unlink()
        except FileNotFoundError:
            pass
