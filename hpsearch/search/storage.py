"""Storage URLs → Optuna storages, set up for many workers.

- ``sqlite:///study.db``: one machine, a few workers. The file is put in WAL mode, every
  transaction takes the write lock up front (``BEGIN IMMEDIATE``) and waits up to a minute
  for it, so concurrent workers queue instead of failing with "database is locked".
- ``journal:///study.log``: Optuna's JournalStorage on a file, for many workers on one
  node. As with SQLite, three slashes start a relative path and four an absolute one
  (``journal:////scratch/study.log``). The file system must support ``open(O_EXCL)``;
  NFS v3 and later do.
- ``postgresql://user:pass@host/db`` (or ``mysql://...``): any SQLAlchemy URL, for many
  machines. PostgreSQL takes the psycopg driver: ``pip install 'hpsearch[postgres]'``.

Running trials beat and stale ones are swept the same way on all of them:
:mod:`hpsearch.search.liveness`.
Every failure to open a storage is one :class:`StorageError` line naming the storage.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
from pathlib import Path

import optuna
from optuna.storages import RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage

from hpsearch.errors import HpsearchError

JOURNAL_SCHEME = "journal:"
SQLITE_TIMEOUT_S = 60  # how long a worker waits for SQLite's write lock before failing
CONNECT_TIMEOUT_S = 10  # how long to wait for a database server that does not answer


class StorageError(HpsearchError):
    """The storage URL is invalid, or the storage cannot be reached or written."""


def display_url(url: str) -> str:
    """``url`` with any password hidden, for messages and logs."""
    if url.startswith(("sqlite:", JOURNAL_SCHEME)) or "@" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: hide what looks like user:pass@
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}"


def storage_path(url: str) -> Path | None:
    """The file behind a SQLite or journal URL; None for a server or in-memory database."""
    if url.startswith(JOURNAL_SCHEME):
        return Path(url.removeprefix(f"{JOURNAL_SCHEME}///"))
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///").split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            return Path(path)
    return None


def storage_exists(url: str) -> bool:
    """False only when the URL names a file that is not there (opening would create it)."""
    path = storage_path(url)
    return path is None or path.exists()


def open_storage(url: str, *, write: bool = True) -> optuna.storages.BaseStorage:
    """The Optuna storage for ``url``.

    ``write=False`` opens for reading only (leaderboards, reports of a colleague's file):
    nothing is checked for write access and a SQLite file's journal mode is left alone.
    """
    shown = display_url(url)
    if ":" not in url.split("/", 1)[0]:
        raise StorageError(
            f"storage {url!r} is not a URL; write sqlite:///{url} (a file), "
            "journal:///study.log or postgresql://user:password@host/database"
        )
    try:
        if url.startswith(JOURNAL_SCHEME):
            return _open_journal(url, write)
        if url.startswith("sqlite:"):
            return _open_sqlite(url, write)
        return _open_server(url)
    except StorageError:
        raise
    except Exception as e:  # SQLAlchemy, driver and OS errors of many kinds
        raise StorageError(f"cannot open storage {shown}: {one_line(e)}") from e


def one_line(error: BaseException) -> str:
    """The first line of a driver's message (they run to several), with its type."""
    inner = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0] if text else ''}".rstrip(": ")


def _open_sqlite(url: str, write: bool) -> RDBStorage:
    path = storage_path(url)
    if write and path is not None:
        _check_writable(path, url)
        # WAL lets readers (leaderboard, dashboard) work while a worker writes; the mode is
        # stored in the file, so setting it once serves every later connection.
        with sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S) as db:
            db.execute("PRAGMA journal_mode=WAL")
        db.close()
    storage = RDBStorage(
        url,
        engine_kwargs={"connect_args": {"timeout": SQLITE_TIMEOUT_S}},
    )
    if write:
        _begin_immediate(storage)
        with storage.engine.begin() as connection:
            # A write that changes nothing: a file SQLite cannot write fails now, not at a
            # worker's first result. (BEGIN IMMEDIATE alone passes on a read-only file.)
            version = connection.exec_driver_sql("PRAGMA user_version").scalar()
            connection.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")
    return storage


def _begin_immediate(storage: RDBStorage) -> None:
    """Make every transaction take SQLite's write lock when it begins.

    Optuna reads a trial and then writes it in one transaction. Under WAL, a transaction
    that began as a reader and meets a newer commit when it tries to write gets
    SQLITE_BUSY at once, whatever the busy timeout: the "database is locked" error of
    concurrent workers. Taking the lock at BEGIN makes the timeout apply instead.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Connection

    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN itself

    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(storage.engine, "connect", on_connect)
    event.listen(storage.engine, "begin", on_begin)
    storage.engine.dispose()  # connections made before the hooks go; new ones get them


def _check_writable(path: Path, url: str) -> None:
    """A read-only file or folder fails here, with its name, not at a worker's first write."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        raise StorageError(f"storage {url} is read-only: cannot write {path}")
    if not folder.is_dir():
        raise StorageError(f"storage {url}: folder {folder} does not exist")
    # SQLite writes its -wal and -shm files beside the database, so the folder must be
    # writable too.
    if not os.access(folder, os.W_OK):
        raise StorageError(f"storage {url} is read-only: cannot write in {folder}")


def _open_journal(url: str, write: bool) -> JournalStorage:
    path = storage_path(url)
    assert path is not None
    if not url.startswith(f"{JOURNAL_SCHEME}///") or not path.name:
        raise StorageError(f"storage {url}: write journal:///study.log or journal:////abs/path.log")
    if write:
        if not path.parent.is_dir():
            raise StorageError(f"storage {url}: folder {path.parent} does not exist")
        writable = os.access(path, os.W_OK) if path.exists() else os.access(path.parent, os.W_OK)
        if not writable:
            raise StorageError(f"storage {url} is read-only: cannot write {path}")
    return JournalStorage(JournalFileBackend(str(path)))


def _open_server(url: str) -> RDBStorage:
    url = _with_installed_driver(url)
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if "://" in url else {}
    return RDBStorage(
        url,
        engine_kwargs={"pool_pre_ping": True, "connect_args": connect_args},
    )


def _with_installed_driver(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; use psycopg 3 when only it is here."""
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    if importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql{sep}{rest}"
    if importlib.util.find_spec("psycopg") is not None:
        return f"postgresql+psycopg{sep}{rest}"
    raise StorageError(
        f"storage {display_url(url)} needs a PostgreSQL driver: pip install 'hpsearch[postgres]'"
    )
