"""Expensive documents cached by content: the key is a hash of what goes into them.

`by_content(kind)` decorates a document function (facts in, bytes out, no query): the
key is a SHA-256 of the kind, of the code and templates that write documents (`build()`),
and of every argument, read field by field (a lot's columns, a facts dataclass, the
locale, the count...). The same facts give the same bytes without rendering again; a
change of any fact, argument or template gives a new key, so a new document: nothing is
ever invalidated, and an old entry is simply not asked for again.

`kept(kind, make, *facts)` is the same cache for a document whose facts cost more to read
than to name: a staff list's CSV export (web/context.csv_download) is named by the
cooperative's audit-chain head (number and hash: every change of its records moves it,
and the hash is one history's), its filters and its dialect, so a second identical
export reads no row.

Where the bytes live is a `Storage` (`get`/`put` by key). The default is a folder,
DATA_DIR/cache/documents/<key[:2]>/<key>, written atomically and bounded in size
(TRACKER_DOCUMENT_CACHE_MB, 512 by default: the least recently used go first); a host that shares its
documents with others (one database, several hosts) installs another storage with
`use_storage(app, storage)`, e.g. the database, and every host then serves every cached
document. Keys name content, never a host or a version counter, so any host may also
render a missing one itself.

Arguments are read by `canonical`: plain values, dates, UUIDs, decimals, enums, SQLModel
rows (their columns), dataclasses (their fields), mappings and sequences. Anything else
raises TypeError, so a new kind of argument is noticed instead of being hashed by its
address (which would make every request a miss).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ParamSpec, Protocol

from flask import Flask, current_app
from flask_babel import get_locale
from sqlmodel import SQLModel

P = ParamSpec("P")

_ROOT = Path(__file__).resolve().parent.parent.parent
# What every cached document is written with: change one and every key changes.
_BUILD_SOURCES = (
    ("tracker/documents", "*.py"),
    ("tracker/services", "vocabulary.py"),
    ("tracker", "formatting.py"),  # every number, amount and date people read
    ("tracker/schemas", "delivery.py"),  # the deliveries CSV's columns
    ("tracker/services", "imports.py"),  # the CSVs' Spanish headers
    ("templates/pdf", "*.html"),
    ("templates/pdf", "*.css"),
    ("tracker/static/css", "*.css"),
    ("tracker/translations", "*/LC_MESSAGES/messages.mo"),
)
# The folder storage's bound (TRACKER_DOCUMENT_CACHE_MB overrides it).
DEFAULT_LIMIT = 512 * 2**20
# How many documents this process rendered and served from the cache (tests read them).
STATS = {"renders": 0, "hits": 0}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class Storage(Protocol):
    """Where cached documents live, by key (64 hex characters)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...


class FolderStorage:
    """Documents as files under one folder (the default: DATA_DIR/cache/documents),
    bounded: past `limit` bytes, the documents least recently written or served go
    first (a hit touches its file)."""

    def __init__(self, root: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.root = root
        self.limit = limit

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key  # a PDF or a CSV: the key names it, not a suffix

    def get(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently served: evicted last
        return data

    def put(self, key: str, data: bytes) -> None:
        write_atomically(self.path(key), data)
        self.trim()

    def trim(self) -> None:
        """Remove the least recent documents until the folder holds at most `limit` bytes
        (a document being written by another process is left alone)."""
        files = []
        for path in self.root.glob("*/*"):
            if path.name.startswith("."):
                continue  # being written (write_atomically's temporary file)
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _when, size, _path in files)
        for _when, size, path in sorted(files):
            if total <= self.limit:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= size


def empty(app: Flask) -> int:
    """Remove every cached document file of this app's data folder (the content cache
    and the provenance sheets): `tracker restore` calls it, since a restored database
    counts its versions again from the backup's. Returns how many files went."""
    removed = 0
    root = Path(app.config["DATA_DIR"]) / "cache"
    for path in sorted(root.rglob("*"), reverse=True):
        with contextlib.suppress(FileNotFoundError):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def write_atomically(path: Path, data: bytes) -> None:
    """Write a document file atomically: a reader sees the whole file or none (the
    provenance sheet's disk cache writes with it too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def use_storage(app: Flask, storage: Storage) -> None:
    """Keep this app's cached documents in `storage` instead of DATA_DIR."""
    app.extensions["tracker.document_storage"] = storage


def storage() -> Storage:
    """This app's storage of cached documents."""
    found = current_app.extensions.get("tracker.document_storage")
    if found is None:
        root = Path(current_app.config["DATA_DIR"]) / "cache" / "documents"
        limit = int(
            current_app.config.get("DOCUMENT_CACHE_MB")
            or os.environ.get("TRACKER_DOCUMENT_CACHE_MB")
            or DEFAULT_LIMIT // 2**20
        )
        store = FolderStorage(root, limit * 2**20)
        found = current_app.extensions["tracker.document_storage"] = store
    return found


@functools.cache
def build() -> str:
    """A hash of the code, templates, stylesheets and catalogues documents are made of."""
    digest = hashlib.sha256()
    for folder, pattern in _BUILD_SOURCES:
        for path in sorted((_ROOT / folder).glob(pattern)):
            if path.is_file():
                digest.update(str(path.relative_to(_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def canonical(value: Any) -> Any:
    """A JSON-able form of an argument that depends on its content only."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, date | datetime | uuid.UUID | Decimal | Fraction):
        return f"{type(value).__name__}:{value}"
    if isinstance(value, bytes):
        return "bytes:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, SQLModel):
        columns = value.__table__.columns.keys()  # type: ignore[attr-defined]
        return [type(value).__name__, {name: canonical(getattr(value, name)) for name in columns}]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return [type(value).__name__, fields]
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda i: str(i[0]))}
    if isinstance(value, Sequence | set | frozenset):
        items = [canonical(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"no content key for a {type(value).__name__}")


def key_for(kind: str, *args: Any, **kwargs: Any) -> str:
    """The cache key of a document of this kind made from these arguments."""
    facts = json.dumps(
        [kind, build(), canonical(list(args)), canonical(kwargs)],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(facts.encode()).hexdigest()


def _lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def kept(kind: str, make: Callable[[], bytes], *facts: Any, **named: Any) -> bytes:
    """The document of `kind` that `facts` name: from the storage, or `make()` once.

    `by_content` keys a document function on its arguments; a document whose facts are
    costlier to read than to name (a CSV export of every delivery: the rows are the cost)
    calls this directly with what names them all (the cooperative's audit-chain head, the
    filters, the dialect)."""
    # The request's language too: documents read it for their words and numbers.
    key = key_for(f"{kind}:{get_locale()}", *facts, **named)
    store = storage()
    found = store.get(key)
    if found is None:
        # One render per key in this process, however many ask at once.
        with _lock(key):
            found = store.get(key)
            if found is None:
                found = make()
                STATS["renders"] += 1
                store.put(key, found)
                return found
    STATS["hits"] += 1
    return found


def by_content(kind: str) -> Callable[[Callable[P, bytes]], Callable[P, bytes]]:
    """Cache a document function's bytes by the content of its arguments (see above)."""

    def decorate(make: Callable[P, bytes]) -> Callable[P, bytes]:
        @functools.wraps(make)
        def cached(*args: P.args, **kwargs: P.kwargs) -> bytes:
            return kept(kind, lambda: make(*args, **kwargs), *args, **kwargs)

        return cached

    return decorate


@by_content("pdf")
def rendered(template: str, **context: Any) -> bytes:
    """`pdf.render(template, **context)`, cached by the context's content: for a PDF a
    view renders from its template (approved producers, a community's member cards)."""
    from . import pdf

    return pdf.render(template, **context)


__all__ = [
    "STATS",
    "FolderStorage",
    "Storage",
    "build",
    "by_content",
    "canonical",
    "empty",
    "kept",
    "key_for",
    "rendered",
    "storage",
    "use_storage",
    "write_atomically",
]
