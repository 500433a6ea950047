"""Where photo bytes live: a small interface, the local disk behind it, and random keys that say nothing."""

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import IO, Final, Protocol

from flask import current_app

from tasks.photos.imaging import CHUNK
from tasks.photos.object_store import ObjectStoreStorage

STORAGE_EXTENSION: Final = "attachments.storage"
OBJECT_STORE_EXTENSION: Final = "attachments.object_store"


class Storage(Protocol):
    """Where photo bytes live: the local disk below, or an object store (S3, OSS) with the same three calls."""

    def save(self, key: str, stream: IO[bytes]) -> None:
        """Store everything `stream` yields under `key`, whole or not at all."""

    def open(self, key: str) -> IO[bytes]:
        """The stored bytes, to read; FileNotFoundError when there are none."""

    def delete(self, key: str) -> None:
        """Forget the bytes under `key`; nothing there is not an error."""


_STORAGE_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


class LocalDiskStorage:
    """Files under one directory; a key is a relative path of plain names, so it can never climb out."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, key: str, stream: IO[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed into place: a reader never sees half a file, a crash leaves a temp file.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        if not _STORAGE_KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key


def storage() -> Storage:
    """The app's storage: one installed in `app.extensions[STORAGE_EXTENSION]`, else what ATTACHMENTS_STORAGE
    names: the local disk, or an S3-compatible object store (its client made once per app)."""
    installed: Storage | None = current_app.extensions.get(STORAGE_EXTENSION)
    if installed is not None:
        return installed
    if current_app.config["ATTACHMENTS_STORAGE"] == "s3":
        made = current_app.extensions.get(OBJECT_STORE_EXTENSION)
        if made is None:
            made = current_app.extensions.setdefault(
                OBJECT_STORE_EXTENSION, ObjectStoreStorage.from_config(current_app.config)
            )
        return made
    return LocalDiskStorage(Path(current_app.config["ATTACHMENTS_DIR"]))


def new_storage_key() -> str:
    """Random, so nothing about the photo or its sender can be read or guessed from it; fanned out by prefix."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"
