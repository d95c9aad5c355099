"""Storage URLs → Optuna storages, set up for many workers.

- ``sqlite:///study.db``: one machine, a few workers. The file is put in WAL mode, every
  transaction takes the write lock up front (``BEGIN IMMEDIATE``) and waits up to a minute
  for it, so concurrent workers queue instead of failing with "database is locked". The
  file is the one SQLAlchemy opens: percent-escapes decoded (``my%20study.db`` is
  ``my study.db``) and Optuna's ``{SCHEMA_VERSION}`` template filled in. An in-memory
  database (``sqlite:///:memory:``) is refused: it would vanish with its one connection,
  and every worker, re-run and report opens the storage anew.
- ``journal:///study.log``: Optuna's JournalStorage on a file, for many workers on one
  node. As with SQLite, three slashes start a relative path and four an absolute one
  (``journal:////scratch/study.log``). Writers take turns through a lock file
  (``study.log.lock``) made with ``open(O_EXCL)``: the file system must support it, as
  NFS v3 and later do.
- ``postgresql://user:pass@host/db`` (or ``mysql://...``): any SQLAlchemy URL, for many
  machines. PostgreSQL takes the psycopg driver: ``pip install 'hpsearch[postgres]'``.

Running trials beat and stale ones are swept the same way on all of them:
:mod:`hpsearch.search.liveness`.

What opening checks, so that a damaged or wrong file is one line, not a traceback later:

- SQLite: the file is a SQLite database that passes ``PRAGMA quick_check`` (a partly
  overwritten file is named as damaged). Creating the schema of a new file runs under a lock
  on its folder, so two runs started at once on a new file do not both create the tables.
  A database in a folder that cannot be written is read as an immutable file, if no
  ``-wal`` file holds writes that are not in it yet.
- Journal: the file is empty, new, or starts with a journal record (never some other text
  file). A last line cut short by a crash mid-write is set aside (``<file>.torn``) with a
  warning before anything is written after it, here and before every later write.

Every failure to open a storage is one :class:`StorageError` line naming the storage, with
any password hidden (:func:`display_url`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.storages import RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage
from optuna.trial import FrozenTrial

from hpsearch.errors import HpsearchError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

JOURNAL_SCHEME = "journal:"
SQLITE_TIMEOUT_S = 60  # how long a worker waits for SQLite's write lock before failing
CONNECT_TIMEOUT_S = 10  # how long to wait for a database server that does not answer
STORAGE_ENV = "HPSEARCH_STORAGE"  # the storage URL, off the command line (and out of `ps`)
TORN_SUFFIX = ".torn"  # where a journal's cut-short last line is set aside

# A password in a query parameter (libpq and SQLAlchemy take ?password=...).
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:password|passwd|pwd)=)[^&#]*")
# A URL inside free text (a study file, a note): a scheme, "://", then no space or quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`]+")
# Optuna's filling of its URL template (``{SCHEMA_VERSION}``), which RDBStorage applies to
# the URL before SQLAlchemy parses it.
_fill_url_template = RDBStorage._fill_storage_url_template


class StorageError(HpsearchError):
    """The storage URL is invalid, or the storage cannot be reached or written."""


def display_url(url: str) -> str:
    """``url`` with any password hidden, for messages, logs and what is stored.

    The user part ends at the last ``@`` before the query, so a password that holds ``@``,
    ``:`` or ``/`` (percent-encoded or not) is hidden whole; a ``password=`` query
    parameter is hidden too. File URLs (SQLite, journal) hold no password.
    """
    if url.startswith(("sqlite:", JOURNAL_SCHEME)):
        return url
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    at = rest.rfind("@", 0, rest.find("?") if "?" in rest else len(rest))
    if at < 0:
        return url
    user, colon, _password = rest[:at].partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{rest[at + 1 :]}"


def mask_secrets(text: str) -> str:
    """``text`` (a study file, a note) with the password of every URL in it hidden."""
    return _URL_IN_TEXT.sub(lambda m: display_url(m.group(0)), text)


def storage_path(url: str) -> Path | None:
    """The file behind a SQLite or journal URL; None for a server, an in-memory database or
    a SQLite ``file:`` URI.

    For SQLite, the file SQLAlchemy opens (:func:`_sqlite_url`), which is not always the
    text of the URL: ``sqlite:///my%20study.db`` opens ``my study.db``.
    """
    if url.startswith(JOURNAL_SCHEME):
        return Path(url.removeprefix(f"{JOURNAL_SCHEME}///"))
    if url.startswith("sqlite:"):
        database = _sqlite_url(url).database
        if database and not _in_memory(url) and not database.startswith("file:"):
            return Path(database)
    return None


def _sqlite_url(url: str) -> URL:
    """The SQLAlchemy URL a SQLite storage URL opens: Optuna's
    URL template filled in as RDBStorage fills it, then parsed as SQLAlchemy parses it
    (percent-escapes decoded); ``.database`` is the file's path."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(_fill_url_template(url))
    except (KeyError, IndexError, ValueError, ArgumentError) as e:
        raise StorageError(
            f"storage {url}: braces in a SQLite URL are an Optuna URL template, whose only "
            f"field is {{SCHEMA_VERSION}}, but got {one_line(e)}"
        ) from None


def _in_memory(url: str) -> bool:
    """Whether a SQLite URL names an in-memory database (``sqlite://``,
    ``sqlite:///:memory:``, a ``file:`` URI with ``mode=memory``)."""
    sqlite_url = _sqlite_url(url)
    database = sqlite_url.database or ""
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or sqlite_url.query.get("mode") == "memory"
    )


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
            f"storage {shown!r} is not a URL; write sqlite:///{shown} (a file), "
            "journal:///study.log or postgresql://user@host/database"
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


def read_trials(url: str, name: str) -> list[FrozenTrial]:
    """The trials of study ``name`` at ``url``, read on connections closed before returning:
    a command or script that polls a running study opens the storage many times, and
    connections left open would pile up (and, on SQLite, could keep a stale WAL index)."""
    storage = open_storage(url, write=False)
    try:
        return optuna.load_study(study_name=name, storage=storage).trials
    finally:
        engine = getattr(storage, "engine", None)
        if engine is not None:
            engine.dispose()


def one_line(error: BaseException) -> str:
    """The first line of the innermost cause's message (drivers write several), with its
    type: Optuna and SQLAlchemy wrap the driver's error, whose words say what is wrong."""
    inner = error
    for _ in range(8):  # a chain of wrappers is short; a cycle of causes must not hang
        nested = getattr(inner, "orig", None) or inner.__cause__
        if nested is None:
            break
        inner = nested
    text = mask_secrets(str(inner)).strip().splitlines()
    return f"{type(inner).__name__}: {text[0] if text else ''}".rstrip(": ")


def _open_sqlite(url: str, write: bool) -> RDBStorage:
    if _in_memory(url):
        raise StorageError(
            f"a SQLite storage must name a file, but {url} is an in-memory database, which "
            "is gone once its connection closes (and every worker, re-run and report opens "
            "its own); write sqlite:///study.db"
        )
    path = storage_path(url)  # the file the engine opens, which Optuna's template may name
    if not write and path is not None and not path.exists():
        # Opening would create an empty database (and a reader has no business writing
        # one), maybe where a run is about to start: say that nothing is there yet.
        raise StorageError(
            f"cannot read storage {display_url(url)}: the file {path} does not exist (yet)"
        )
    if path is not None and path.exists():
        _check_sqlite_file(path, url)
    if write and path is not None:
        _check_writable(path, url)
        # WAL lets readers (leaderboard, dashboard) work while a worker writes; the mode is
        # stored in the file, so setting it once serves every later connection.
        with sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S) as db:
            db.execute("PRAGMA journal_mode=WAL")
        db.close()
    engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    if not write:
        if path is not None and not _schema_ready(path):
            # Optuna creates missing tables when it opens a storage: a reader doing so while
            # a run creates them fails that run ("table trials already exists").
            raise StorageError(
                f"cannot read storage {display_url(url)}: {path} holds no Optuna study yet "
                "(a run may be creating it)"
            )
        try:
            return RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=True)
        except Exception as e:
            if path is None or "unable to open database file" not in one_line(e):
                raise
            # A WAL database is read through its -shm file, which SQLite creates beside it:
            # in a folder that cannot be written, read the file as it is instead.
            return RDBStorage(
                _immutable_url(path, url), engine_kwargs=engine_kwargs, skip_table_creation=True
            )
    with _schema_lock(path):
        storage = SqliteStorage(url, engine_kwargs=engine_kwargs)
    if write:
        _begin_immediate(storage)
        with storage.engine.begin() as connection:
            # A write that changes nothing: a file SQLite cannot write fails now, not at a
            # worker's first result. (BEGIN IMMEDIATE alone passes on a read-only file.)
            version = connection.exec_driver_sql("PRAGMA user_version").scalar()
            connection.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")
    return storage


def _schema_ready(path: Path) -> bool:
    """Whether the SQLite file holds Optuna's tables with their version stamped (the last
    thing Optuna writes when it creates them), read through SQLite only (see below)."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return all(
                db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
                for table in ("version_info", "alembic_version")
            )
        finally:
            db.close()
    except sqlite3.OperationalError as e:
        # Locked, or unreadable: ready as far as this check knows; opening says what is wrong.
        return "no such table" not in str(e)


def _check_sqlite_file(path: Path, url: str) -> None:
    """A file that is not a SQLite database, or a damaged one, is named here with the rule,
    not left to fail as Optuna's "invalid data in the commit" at the first query.

    The file is read through SQLite only, never opened and closed by Python: closing any
    descriptor of a file drops every POSIX lock the process holds on it, SQLite's included,
    and a process that holds open connections (a report opening a second storage, a
    watching leaderboard) would then look closed to the others. The next one to close
    would checkpoint and delete the WAL under it: "disk I/O error", or a stale view.
    """
    try:
        if path.stat().st_size == 0:
            return  # an empty file: SQLite makes it a database
    except OSError as e:
        raise StorageError(f"storage {url}: cannot read {path}: {e.strerror}") from None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            raise StorageError(
                f"storage {url}: {path} is not a SQLite database (its first bytes are not "
                "SQLite's header); name a new file, or the study's .db file"
            ) from None
        if "malformed" not in str(e):
            return  # locked, or a folder it cannot read: opening says so with its reason
        problems = [str(e)]
    if problems != ["ok"]:
        raise StorageError(
            f"storage {url}: the database file {path} is damaged (SQLite: database disk "
            "image is malformed); "
            f"restore it from a backup, or salvage what it holds with "
            f"`sqlite3 {path} .recover | sqlite3 recovered.db`"
        )


def _immutable_url(path: Path, url: str) -> str:
    """``path`` as a read-only, immutable SQLite URL, for a folder SQLite cannot write in.

    Only safe when no writer is active: a writer's changes wait in the ``-wal`` file, which
    an immutable read ignores, so a non-empty one is an error that says what to do.
    """
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StorageError(
            f"storage {url}: cannot read {path}: its folder {path.parent} cannot be written "
            f"(SQLite needs a -shm file beside a database in WAL mode), and {wal.name} holds "
            "writes not yet in the database; read it where it can be written, or copy "
            "the .db and -wal files to a writable folder"
        )
    log.info("reading %s as an immutable file: its folder cannot be written", path)
    from sqlalchemy.engine import URL

    # The path as a URI (percent-encoded), inside a URL that SQLAlchemy decodes once: SQLite
    # gets the URI, and opens ``path`` whatever its name holds (a space, a %, a ?).
    immutable = URL.create(
        "sqlite",
        database=path.resolve().as_uri(),
        query={"mode": "ro", "immutable": "1", "uri": "true"},
    )
    return immutable.render_as_string(hide_password=False)


@contextlib.contextmanager
def _schema_lock(path: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on the database's folder while Optuna creates its schema.

    Optuna checks for its tables, then creates them: two processes started at once on a
    new file both see none, and one fails ("table studies already exists", "UNIQUE
    constraint failed: alembic_version"). A lock on the folder (not on the database file,
    whose locks are SQLite's) makes them take turns; it needs no file of its own, and it
    is released when the process dies.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one run at a time creates a new file there
        yield
        return
    if path is None:
        yield
        return
    fd = os.open(path.resolve().parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class SqliteStorage(RDBStorage):
    """Optuna's RDBStorage on a SQLite file, whose transactions take the write lock when
    they begin (:func:`_begin_immediate`), in this process and in any it is pickled to.

    A process pool pickles a storage it hands to its workers; Optuna's unpickling makes a
    new engine, without the hooks, and the copy's workers would fail with "database is
    locked" again. Restored here when the original had them. A storage opened to read
    keeps none, and its copies none either.
    """

    immediate = False  # set by _begin_immediate

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        if self.immediate:
            _begin_immediate(self)


def _begin_immediate(storage: SqliteStorage) -> None:
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
    storage.immediate = True  # pickled with the storage: SqliteStorage's copies get the hooks


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
    if path.exists():
        _check_journal_file(path, url)
    backend = SafeJournalBackend(str(path))
    if write:
        backend.recover()
    elif _torn_tail(path):
        log.warning(
            "journal %s: its last line is cut short (a crash while writing?) and is ignored; "
            "the next `hpsearch run` sets it aside",
            path,
        )
    return JournalStorage(backend)


def _check_journal_file(path: Path, url: str) -> None:
    """Only an empty file or a journal is opened as one: Optuna would append its records to
    any text file it is given, and fail on it later."""
    try:
        with path.open("rb") as f:
            first = f.readline(1 << 20)
    except OSError as e:
        raise StorageError(f"storage {url}: cannot read {path}: {e.strerror}") from None
    if not first:
        return
    try:
        record = json.loads(first)
    except ValueError:
        record = None
    if not first.endswith(b"\n") and first.startswith(b'{"op_code":'):
        return  # a first record cut short by a crash: recovery sets it aside
    if not (isinstance(record, dict) and "op_code" in record):
        raise StorageError(
            f"storage {url}: {path} is not an Optuna journal (its first line is not a journal "
            "record); name a new or empty file"
        )


def _torn_tail(path: Path) -> bytes:
    """The bytes after the last newline of a journal: a record cut short, or nothing."""
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return b""
        # Records are a few kB at most (a trial's evals); read back until a newline.
        block = 1 << 16
        tail = b""
        while True:
            start = max(0, size - len(tail) - block)
            f.seek(start)
            tail = f.read(size - start)
            newline = tail.rfind(b"\n")
            if newline >= 0:
                return tail[newline + 1 :]
            if start == 0:
                return tail


class SafeJournalBackend(JournalFileBackend):
    """Optuna's journal file, which never appends after a line cut short by a crash.

    Optuna appends its records to the end of the file: after a crash mid-write, the next
    record would be glued to the cut one, and the journal could not be read again. Before
    each write, under the journal's lock, a cut-short last line is set aside in
    ``<file>.torn`` with a warning; every complete record stays.

    Writers take turns through Optuna's :class:`~optuna.storages.journal.JournalFileOpenLock`
    (``<file>.lock``, made with ``open(O_EXCL)``), the one kind of lock every process that
    opens the journal through :func:`open_storage` uses. Optuna's default lock, a symlink of
    the same name, excludes it too: either one existing makes the other wait.
    """

    def __init__(self, file_path: str) -> None:
        # Kept here, not read back from Optuna's private attributes.
        self.path = Path(file_path)
        self.file_lock = JournalFileOpenLock(file_path)
        super().__init__(file_path, lock_obj=self.file_lock)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal's lock: no other writer appends meanwhile."""
        self.file_lock.acquire()
        try:
            yield
        finally:
            self.file_lock.release()

    def recover(self) -> None:
        """Set aside a cut-short last line now (at open), under the journal's lock."""
        with self.locked():
            self._set_aside_torn_tail()

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        # As Optuna's (the same bytes: tests/search/test_storage_faults.py checks it), with
        # the torn-tail check under the same lock as the write. Optuna's own append_logs
        # cannot be called here: it takes the lock itself, and the lock is not reentrant.
        with self.locked():
            self._set_aside_torn_tail()
            text = "\n".join(json.dumps(r, separators=(",", ":")) for r in logs) + "\n"
            with self.path.open("ab") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())

    def _set_aside_torn_tail(self) -> None:
        # Only bytes after the last newline go. Optuna caches the offsets of complete lines
        # only (read_logs skips a line without its newline), so none points past the new end.
        path = self.path
        torn = _torn_tail(path)
        if not torn:
            return
        aside = path.with_name(path.name + TORN_SUFFIX)
        with aside.open("ab") as f:
            f.write(torn + b"\n")
            f.flush()
            os.fsync(f.fileno())
        with path.open("r+b") as f:
            f.truncate(f.seek(0, os.SEEK_END) - len(torn))
            f.flush()
            os.fsync(f.fileno())
        log.warning(
            "journal %s: its last line was cut short (a crash while writing); set aside its "
            "%d bytes in %s and kept every complete record",
            path,
            len(torn),
            aside,
        )


def _open_server(url: str) -> RDBStorage:
    _check_dialect(url)
    url = _with_installed_driver(url)
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if "://" in url else {}
    return RDBStorage(
        url,
        engine_kwargs={"pool_pre_ping": True, "connect_args": connect_args},
    )


def _check_dialect(url: str) -> None:
    """A URL whose scheme names no database SQLAlchemy knows (``ftp://``) is one line."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    scheme = url.partition("://")[0]
    if scheme in ("postgresql", "postgres"):
        return  # the driver is chosen below, with its own message
    try:
        make_url(url).get_dialect()
    except (NoSuchModuleError, ArgumentError):
        raise StorageError(
            f"cannot open storage {display_url(url)}: {scheme!r} is not a kind of storage; "
            "write sqlite:///FILE.db, journal:///FILE.log or a database URL "
            "(postgresql://user@host/db, mysql://...)"
        ) from None
    except ImportError:
        return  # a known database without its driver: connecting says which to install


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
