"""A :class:`~socialfeed.interfaces.MediaStore` on any fsspec filesystem: :class:`FsspecMediaStore`.

Layout under the store's root (every name is derived from the bytes, never from user input)::

    <root>/blobs/<h[:2]>/<h>        the bytes, h = hex sha256 of the bytes (the media id)
    <root>/meta/<h[:2]>/<h>.json    {"content_type", "size", "created"}: what get() returns
    <root>/tmp/<random>             uploads in progress (and metadata being written)

A writer (:meth:`FsspecMediaStore.open_writer`) streams an upload into a temporary object; its
commit moves it under the media's content address and writes the sidecar last, so a media exists
(for ``get``) only once its bytes are complete, and ``delete`` removes the sidecar first. The
store only moves bytes: what an upload may be is decided by :mod:`socialfeed.media`.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any, TypeVar

from socialfeed.errors import BackendError, NotFound, ValidationError, missing_driver, show
from socialfeed.models import Media
from socialfeed.settings import Settings
from socialfeed.validation import is_media_id

__all__ = ["FsspecMediaStore"]

_WRITE_BLOCK = 8 * 1024 * 1024  # buffer of a remote file being written (S3 part size)
_BATCH = 256
# Flat key-value stores: a write is atomic and needs no parent directory.
_OBJECT_STORES = frozenset({"memory", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss"})
T = TypeVar("T")


def _backend_errors() -> tuple[type[BaseException], ...]:
    """OSError, plus botocore's errors when botocore is loaded (it is only with s3fs)."""
    errors: list[type[BaseException]] = [OSError]
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None:
        errors += [botocore.BotoCoreError, botocore.ClientError]
    return tuple(errors)


def _protocols(fs: Any) -> set[str]:
    protocol = getattr(fs, "protocol", ())
    return {protocol} if isinstance(protocol, str) else set(protocol)


def _is_memory(fs: Any) -> bool:
    return "memory" in _protocols(fs)


class _Writer:
    """One upload into a temporary object of an :class:`FsspecMediaStore`."""

    def __init__(self, store: FsspecMediaStore, tmp: str, f: Any) -> None:
        self._store = store
        self._tmp = tmp
        self._f: Any = f

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        self._store._call("write", self._f.write, chunk)

    def commit(self, media: Media) -> None:
        """Close the temporary object and move it under ``media.id`` with its sidecar."""
        f, self._f = self._f, None
        if f is None:
            raise ValueError("this upload was already committed or aborted")
        self._store._call("write", f.close)
        try:
            self._store._commit(self._tmp, media)
        except BaseException:
            self._store._remove_quietly(self._tmp)
            raise

    def abort(self) -> None:
        """Throw the partly written object away (aborting a multipart upload where there is
        one)."""
        f, self._f = self._f, None
        if f is not None:
            for step in ("discard", "close"):
                try:
                    getattr(f, step, lambda: None)()
                except Exception:  # best effort: the temporary object is removed next
                    continue
        self._store._remove_quietly(self._tmp)


class FsspecMediaStore:
    """Media bytes and their metadata on an fsspec filesystem under ``root``.

    ``FsspecMediaStore(fs, "bucket/prefix")`` wraps a ready filesystem;
    :meth:`from_url` builds one from ``memory://``, ``file:///srv/media``, ``s3://bucket/prefix``
    or any fsspec URL. Media ids are the lowercase hex sha256 of the bytes (64 characters).
    Thread-safe: concurrent uploads of the same bytes store them once.
    """

    def __init__(self, fs: Any, root: str, *, owns_root: bool = False) -> None:
        """Use ``fs`` under the directory/prefix ``root``; with ``owns_root`` (as for a bare
        ``memory://`` URL), :meth:`close` deletes everything under it."""
        if not isinstance(root, str) or not root.strip("/"):
            raise ValidationError("media", "the root must name a directory or bucket/prefix")
        self._fs = fs
        self._root: str = str(fs._strip_protocol(root)).rstrip("/")
        self._owns_root = owns_root
        self._dirs: set[str] = set()
        self._dirs_lock = threading.Lock()
        self._closed = False
        self._flat = bool(_protocols(fs) & _OBJECT_STORES)

    @classmethod
    def from_url(
        cls,
        url: str,
        settings: Settings | None = None,
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> FsspecMediaStore:
        """A store for an fsspec URL (``storage_options`` go to the filesystem, e.g. an S3
        ``endpoint_url``). A bare ``memory://`` gets its own private root
        (``memory:///socialfeed-<uuid>``), removed by :meth:`close`; ``memory://some/path`` is
        shared by every store opened on it in this process."""
        try:
            import fsspec.core
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise missing_driver("media", "a media store", exc) from exc
        try:
            fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        except ImportError as exc:
            raise missing_driver("media", f"the filesystem for {show(url)}", exc) from exc
        except ValueError as exc:
            raise ValidationError(
                "media", f"{show(url)} is not a usable fsspec URL ({exc})"
            ) from exc
        except _backend_errors() as exc:
            raise BackendError(f"cannot open media store {show(url)}: {exc}") from exc
        owns = False
        if _is_memory(fs) and not root.strip("/"):
            root, owns = f"/socialfeed-{uuid.uuid4().hex}", True
        return cls(fs, root, owns_root=owns)

    @classmethod
    def from_filesystem(cls, fs: Any, root: str | None = None) -> FsspecMediaStore:
        """A store on a ready fsspec filesystem. Without ``root``, only a memory filesystem is
        accepted (it gets a private root, freed by :meth:`close`)."""
        if root is not None:
            return cls(fs, root)
        if not _is_memory(fs):
            raise ValidationError(
                "media",
                "a filesystem object alone does not say where to store media: "
                "pass FsspecMediaStore(fs, 'bucket/prefix') instead",
            )
        return cls(fs, f"/socialfeed-{uuid.uuid4().hex}", owns_root=True)

    # paths
    @property
    def fs(self) -> Any:
        """The fsspec filesystem."""
        return self._fs

    @property
    def root(self) -> str:
        """The directory or prefix everything is stored under."""
        return self._root

    def _blob(self, media_id: str) -> str:
        return f"{self._root}/blobs/{media_id[:2]}/{media_id}"

    def _meta(self, media_id: str) -> str:
        return f"{self._root}/meta/{media_id[:2]}/{media_id}.json"

    def _tmp(self) -> str:
        return f"{self._root}/tmp/{uuid.uuid4().hex}"

    def _makedirs(self, path: str) -> None:
        if self._flat or path in self._dirs:
            return
        self._call("create directory", self._fs.makedirs, path, exist_ok=True)
        with self._dirs_lock:
            self._dirs.add(path)

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except _backend_errors() as exc:
            raise BackendError(f"media store: {what} failed: {exc!r}") from exc

    def _remove_quietly(self, path: str) -> None:
        try:
            self._fs.rm_file(path)
        except FileNotFoundError:
            pass
        except Exception:
            pass  # best effort: a leftover temporary object is harmless

    # writes
    def open_writer(self) -> _Writer:
        """A writer streaming an upload into a temporary object under ``<root>/tmp``."""
        self._makedirs(f"{self._root}/tmp")
        tmp = self._tmp()
        f = self._call("open", self._fs.open, tmp, "wb", block_size=_WRITE_BLOCK)
        return _Writer(self, tmp, f)

    def _commit(self, tmp: str, media: Media) -> None:
        blob = self._blob(media.id)
        if self._call("check", self._fs.exists, blob):
            self._remove_quietly(tmp)  # same bytes are already there
        else:
            self._makedirs(blob.rsplit("/", 1)[0])
            self._call("commit", self._fs.mv, tmp, blob)
        # (re)written on every upload: a fresh "created" keeps a just-uploaded media safe from
        # collect_garbage until it is attached to a tweet.
        self._write_meta(media)

    def _write_meta(self, media: Media) -> None:
        meta = {
            "content_type": media.content_type,
            "size": media.size,
            "created": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(meta, sort_keys=True).encode()
        path = self._meta(media.id)
        if self._flat:  # one atomic PUT
            self._call("write metadata", self._fs.pipe_file, path, body)
            return
        tmp = self._tmp()
        try:
            self._call("write metadata", self._fs.pipe_file, tmp, body)
            self._makedirs(path.rsplit("/", 1)[0])
            self._call("write metadata", self._fs.mv, tmp, path)
        except BaseException:
            self._remove_quietly(tmp)
            raise

    def delete(self, media_id: str) -> None:
        """Remove the media (metadata first, then bytes); idempotent."""
        if not is_media_id(media_id):
            return
        for path in (self._meta(media_id), self._blob(media_id)):
            try:
                self._fs.rm_file(path)
            except FileNotFoundError:
                pass
            except _backend_errors() as exc:
                raise BackendError(f"media store: delete failed: {exc!r}") from exc

    # reads
    def _read_metas(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The contents of the sidecars among ``paths`` that exist, by path."""
        if not paths:
            return {}
        if getattr(self._fs, "async_impl", False) and len(paths) > 1:
            got = self._call("read metadata", self._fs.cat, list(paths), on_error="return")
            found: dict[str, bytes] = {}
            for path in paths:
                value = got.get(self._fs._strip_protocol(path), got.get(path))
                if isinstance(value, bytes):
                    found[path] = value
                elif isinstance(value, BaseException) and not isinstance(value, FileNotFoundError):
                    raise BackendError(
                        f"media store: read metadata failed: {show(value)}"
                    ) from value
            return found
        found = {}
        for path in paths:
            try:
                found[path] = self._fs.cat_file(path)
            except FileNotFoundError:
                continue
            except _backend_errors() as exc:
                raise BackendError(f"media store: read metadata failed: {exc!r}") from exc
        return found

    @staticmethod
    def _parse_meta(media_id: str, body: bytes) -> tuple[Media, datetime]:
        try:
            meta = json.loads(body)
            created = datetime.fromisoformat(meta["created"])
            return Media(media_id, str(meta["content_type"]), int(meta["size"])), created
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError(f"media store: corrupt metadata for {media_id}") from exc

    def get(self, media_ids: Sequence[str]) -> dict[str, Media]:
        """The stored media among ``media_ids``, by id (malformed ids are simply absent)."""
        wanted = list(dict.fromkeys(i for i in media_ids if is_media_id(i)))
        paths = {self._meta(i): i for i in wanted}
        found = self._read_metas(list(paths))
        return {paths[p]: self._parse_meta(paths[p], body)[0] for p, body in found.items()}

    def open(self, media_id: str) -> IO[bytes]:
        """A binary file object streaming the bytes; :class:`NotFound` if absent."""
        if not is_media_id(media_id):
            raise NotFound(f"media {show(media_id)} does not exist")
        path = self._blob(media_id)
        try:
            if _is_memory(self._fs):
                # a MemoryFileSystem hands out its one shared file object: copy it
                return io.BytesIO(self._fs.cat_file(path))
            f: IO[bytes] = self._fs.open(path, "rb")
            return f
        except FileNotFoundError as exc:
            raise NotFound(f"media {show(media_id)} does not exist") from exc
        except _backend_errors() as exc:
            raise BackendError(f"media store: open failed: {exc!r}") from exc

    def url(self, media_id: str) -> str:
        """A signed URL where the filesystem signs (S3), else its own URL (``file://``,
        ``memory://``, ``s3://``...)."""
        if not is_media_id(media_id):
            raise NotFound(f"media {show(media_id)} does not exist")
        path = self._blob(media_id)
        try:
            signed: str = self._fs.sign(path)
            return signed
        except NotImplementedError:
            pass
        except _backend_errors() as exc:
            raise BackendError(f"media store: sign failed: {exc!r}") from exc
        plain: str = self._fs.unstrip_protocol(path)
        return plain

    def list_media(self, older_than: datetime) -> Iterator[str]:
        """Ids of media stored (last uploaded) before ``older_than``, for garbage collection."""
        if older_than.tzinfo is None:
            raise ValidationError("older_than", "must be a timezone-aware datetime")
        try:
            paths = self._fs.find(f"{self._root}/meta")
        except FileNotFoundError:
            return
        except _backend_errors() as exc:
            raise BackendError(f"media store: list failed: {exc!r}") from exc
        candidates: list[tuple[str, str]] = []
        for path in sorted(paths):
            name = path.rsplit("/", 1)[-1].removesuffix(".json")
            if is_media_id(name):
                candidates.append((self._meta(name), name))
        for start in range(0, len(candidates), _BATCH):
            batch = dict(candidates[start : start + _BATCH])
            for path, body in self._read_metas(list(batch)).items():
                _, created = self._parse_meta(batch[path], body)
                if created < older_than:
                    yield batch[path]

    def sweep_uploads(self, older_than: datetime) -> int:
        """Delete temporary objects last modified before ``older_than`` (left by a process that
        died mid-upload); return how many. Not part of the MediaStore protocol."""
        if older_than.tzinfo is None:
            raise ValidationError("older_than", "must be a timezone-aware datetime")
        try:
            paths = self._fs.find(f"{self._root}/tmp")
        except FileNotFoundError:
            return 0
        except _backend_errors() as exc:
            raise BackendError(f"media store: list failed: {exc!r}") from exc
        removed = 0
        for path in paths:
            try:
                modified = self._fs.modified(path)
            except (FileNotFoundError, NotImplementedError):
                continue
            except _backend_errors() as exc:
                raise BackendError(f"media store: stat failed: {exc!r}") from exc
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            if modified < older_than:
                self._remove_quietly(path)
                removed += 1
        return removed

    def close(self) -> None:
        """Release resources; a private ``memory://`` store also frees its bytes."""
        if self._closed:
            return
        self._closed = True
        if self._owns_root:
            try:
                self._fs.rm(self._root, recursive=True)
            except FileNotFoundError:
                pass
            except _backend_errors() as exc:
                raise BackendError(f"media store: close failed: {exc!r}") from exc
