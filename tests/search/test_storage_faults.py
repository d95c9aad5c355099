"""Storages after faults: a journal cut by a crash, a damaged or foreign file, two runs
creating one SQLite file, a folder that cannot be written, a URL that names no storage."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hpsearch.search import storage as storage_module
from hpsearch.search.storage import StorageError, open_storage
from tests.folders import read_only_folder


def finished_study(url: str, n: int = 3) -> optuna.Study:
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=n)
    return study


def states(url: str, *, write: bool = False) -> list[TrialState]:
    study = optuna.load_study(study_name="s", storage=open_storage(url, write=write))
    return [t.state for t in study.trials]


# ---- journal ------------------------------------------------------------------------------


def cut_last_line(path: Path, keep: int) -> bytes:
    """Cut the journal's last record after ``keep`` bytes, as a crash mid-write does."""
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last + keep])
    return data[last : last + keep]


def test_a_torn_journal_line_is_set_aside_and_the_next_writes_stay_readable(tmp_path, caplog):
    path = tmp_path / "s.log"
    url = f"journal:///{path}"
    finished_study(url)
    torn = cut_last_line(path, keep=20)  # the last trial's "complete" record, cut

    with caplog.at_level(logging.WARNING):
        assert states(url) == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING]
    assert "cut short" in caplog.text
    assert path.read_bytes().endswith(torn)  # reading changes nothing

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        study = optuna.load_study(study_name="s", storage=open_storage(url))
    assert "set aside its 20 bytes" in caplog.text and str(path) in caplog.text
    assert (tmp_path / "s.log.torn").read_bytes() == torn + b"\n"
    assert path.read_bytes().endswith(b"\n")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    # Every complete record kept; the new ones readable, by a fresh reader too.
    assert (
        states(url) == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING] + [TrialState.COMPLETE] * 2
    )


def test_a_journal_torn_while_open_is_repaired_before_the_next_write(tmp_path, caplog):
    """Another worker crashed mid-write while this one had the journal open."""
    path = tmp_path / "s.log"
    url = f"journal:///{path}"
    study = finished_study(url, n=2)
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"dead","tri')
    with caplog.at_level(logging.WARNING):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert "cut short" in caplog.text
    assert states(url) == [TrialState.COMPLETE] * 3


@pytest.mark.parametrize("text", ["hello\n", "a,b\n1,2\n", "[1, 2]\n", "\x00\x01binary"])
def test_a_file_that_is_not_a_journal_is_refused(tmp_path, text):
    path = tmp_path / "notes.txt"
    path.write_text(text)
    for write in (True, False):
        with pytest.raises(StorageError, match="is not an Optuna journal"):
            open_storage(f"journal:///{path}", write=write)
    assert path.read_text() == text  # nothing appended


def test_an_empty_file_becomes_a_journal(tmp_path):
    path = tmp_path / "empty.log"
    path.touch()
    assert finished_study(f"journal:///{path}", n=1).trials[0].state == TrialState.COMPLETE


RECORDS = [{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}]


def test_the_journal_is_written_byte_for_byte_as_optuna_writes_it(tmp_path):
    """SafeJournalBackend writes its records itself (under its lock, after the torn-tail
    check): an Optuna upgrade that changes how a journal's records are written fails here."""
    from optuna.storages.journal import JournalFileBackend

    ours, theirs = tmp_path / "ours.log", tmp_path / "theirs.log"
    storage_module.SafeJournalBackend(str(ours)).append_logs(RECORDS * 2)
    JournalFileBackend(str(theirs)).append_logs(RECORDS * 2)
    assert ours.read_bytes() == theirs.read_bytes()
    assert list(JournalFileBackend(str(ours)).read_logs(0)) == RECORDS * 2


@pytest.mark.parametrize("held_as", ["O_EXCL file", "symlink"])
def test_journal_writers_wait_for_the_lock_file(tmp_path, held_as):
    """Another writer holds ``<file>.lock``: made with O_EXCL (hpsearch's lock, Optuna's
    JournalFileOpenLock) or as a symlink (Optuna's default lock, an older hpsearch)."""
    import threading
    import time

    from optuna.storages.journal import JournalFileOpenLock

    path = tmp_path / "s.log"
    backend = storage_module.SafeJournalBackend(str(path))
    assert isinstance(backend.file_lock, JournalFileOpenLock)
    lock = tmp_path / "s.log.lock"
    if held_as == "symlink":
        lock.symlink_to(path)
    else:
        lock.touch()
    writer = threading.Thread(target=backend.append_logs, args=(RECORDS,))
    writer.start()
    time.sleep(0.3)
    assert writer.is_alive() and path.read_bytes() == b""  # waiting, nothing written
    lock.unlink()  # the other writer is done
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert path.read_bytes().count(b"\n") == 1 and not lock.exists()


def test_offsets_a_reader_cached_stay_valid_when_a_torn_line_is_set_aside(tmp_path):
    """Optuna caches where each complete record starts; setting aside a torn last line
    removes no complete record, so the cache of a backend that read before it still holds."""
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "s.log"
    backend = storage_module.SafeJournalBackend(str(path))
    backend.append_logs(RECORDS * 2)
    assert len(list(backend.read_logs(0))) == 2  # fills the cache
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"dead","tri')  # another worker crashed mid-write
    assert len(list(backend.read_logs(2))) == 0  # a torn last line is no record
    backend.append_logs(RECORDS)
    assert list(backend.read_logs(2)) == RECORDS  # from the cached offset of record 2
    assert list(backend.read_logs(0)) == list(JournalFileBackend(str(path)).read_logs(0))
    assert len(list(backend.read_logs(0))) == 3


# ---- SQLite -------------------------------------------------------------------------------


def lock_is_free(folder: Path) -> bool:
    """Whether the folder's lock can be taken now (from a new open file, as another process)."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_the_schema_of_a_new_sqlite_file_is_created_under_a_lock(tmp_path, monkeypatch):
    """Two runs started at once on a new file: each creates the schema while holding the
    folder's lock, so the other's check-then-create cannot run in between (the race that
    failed with "table studies already exists" or "UNIQUE constraint failed:
    alembic_version")."""
    real = storage_module.SqliteStorage
    held: list[bool] = []

    def recording(url, **kwargs):
        held.append(not lock_is_free(tmp_path))
        return real(url, **kwargs)

    monkeypatch.setattr(storage_module, "SqliteStorage", recording)
    url = f"sqlite:///{tmp_path}/new.db"
    open_storage(url)
    open_storage(url)  # the second run, after the first made the schema
    assert held == [True, True]
    assert lock_is_free(tmp_path)  # released


def test_a_schema_left_half_made_by_a_killed_run_is_completed(tmp_path):
    """A creator killed between tables: the next open makes the rest and stamps the schema."""
    from optuna.storages._rdb import models
    from sqlalchemy import create_engine

    db = tmp_path / "half.db"
    engine = create_engine(f"sqlite:///{db}")
    tables = list(models.BaseModel.metadata.sorted_tables)
    models.BaseModel.metadata.create_all(engine, tables=tables[: len(tables) // 2])
    engine.dispose()
    assert finished_study(f"sqlite:///{db}", n=1).trials[0].state == TrialState.COMPLETE


def overwrite(path: Path, offset: int, size: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(bytes((i * 37) % 256 for i in range(size)))


def test_a_partly_overwritten_sqlite_file_is_named_as_damaged(tmp_path, quora_study, cli):
    study_file = quora_study(name="quora")
    db = tmp_path / "quora.db"
    optuna.create_study(study_name="quora", storage=f"sqlite:///{db}", direction="maximize")
    overwrite(db, 4096, 8192)
    for write in (True, False):
        with pytest.raises(StorageError, match="database disk image is malformed") as info:
            open_storage(f"sqlite:///{db}", write=write)
        assert f"the database file {db} is damaged" in str(info.value)
    code, _, err = cli("leaderboard", str(study_file))
    assert code == 1 and "is damaged" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_a_file_that_is_not_a_sqlite_database_is_one_line(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("some notes\n")
    with pytest.raises(StorageError, match="is not a SQLite database"):
        open_storage(f"sqlite:///{path}")


def test_opening_a_storage_again_keeps_this_process_s_sqlite_locks(tmp_path):
    """A process with a live storage (a report that opens a second one, a leaderboard that
    re-reads) opens the file again: its SQLite locks must hold, or another process closing
    its last connection takes the file for unused, checkpoints and deletes the WAL under
    the first one (seen as "disk I/O error" in a report while a poller read the file)."""
    db = tmp_path / "live.db"
    url = f"sqlite:///{db}"
    live = open_storage(url)
    study = optuna.create_study(study_name="live", storage=live)
    study.enqueue_trial({"x": 0.5})  # a write: the WAL holds it, the pool keeps a connection
    for write in (True, False):
        open_storage(url, write=write)
    wal = db.with_name(db.name + "-wal")
    assert wal.exists()
    # Another process opens the database and closes it: not the last user of the file.
    read = "c.execute('SELECT count(*) FROM sqlite_master').fetchall()"
    code = f"import sqlite3; c = sqlite3.connect({str(db)!r}); {read}; c.close()"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert wal.exists()
    study.enqueue_trial({"x": 0.25})  # the live storage still writes
    assert len(study.trials) == 2


def test_reading_a_sqlite_file_that_is_not_there_creates_nothing(tmp_path):
    """A reader (a leaderboard, a test polling a run about to start) must not create the
    file: it would be made in rollback-journal mode under the run that switches it to WAL."""
    path = tmp_path / "later.db"
    with pytest.raises(StorageError, match="does not exist"):
        open_storage(f"sqlite:///{path}", write=False)
    assert not path.exists()


@pytest.mark.parametrize("made", ["empty", "half", "unstamped"])
def test_reading_a_sqlite_file_a_run_is_still_creating_writes_nothing(tmp_path, made):
    """A reader that opens the file between a run's first connection and its last table must
    neither create tables (the run then fails: "table trials already exists", as a test
    polling a starting run saw under load) nor stamp a version; it says nothing is there
    yet, and once the run has made the schema it reads it."""
    from optuna.storages._rdb import models
    from sqlalchemy import create_engine

    path = tmp_path / "starting.db"
    path.touch()
    if made != "empty":
        engine = create_engine(f"sqlite:///{path}")
        tables = list(models.BaseModel.metadata.sorted_tables)
        models.BaseModel.metadata.create_all(
            engine, tables=tables if made == "unstamped" else tables[: len(tables) // 2]
        )
        engine.dispose()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="holds no Optuna study yet"):
        open_storage(f"sqlite:///{path}", write=False)
    assert path.read_bytes() == before
    finished_study(f"sqlite:///{path}", n=1)  # the run completes the schema
    assert open_storage(f"sqlite:///{path}", write=False).get_all_studies()


def test_the_leaderboard_reads_a_database_in_a_read_only_folder(tmp_path, quora_study, cli):
    study_file = quora_study(name="quora")
    folder = tmp_path / "archive"
    folder.mkdir()
    url = f"sqlite:///{folder}/quora.db"
    storage = open_storage(url)  # in WAL mode, as hpsearch leaves every database
    study = optuna.create_study(study_name="quora", storage=storage, direction="maximize")
    study.optimize(lambda t: t.suggest_float("train.lr", 1e-5, 1e-3), n_trials=2)
    storage.engine.dispose()  # the last connection closes: SQLite removes its -wal and -shm
    assert sorted(p.name for p in folder.iterdir()) == ["quora.db"]
    with read_only_folder(folder):
        code, out, err = cli("leaderboard", str(study_file), "--storage", url)
    assert code == 0, err
    assert "quora" in out and "complete" in out


def test_a_read_only_folder_with_pending_writes_is_one_line(tmp_path, quora_study, cli):
    """A database copied while a writer had changes in its -wal file, into a folder that
    cannot be written: reading it as it is would miss them, so it is refused."""
    study_file = quora_study(name="quora")
    live = tmp_path / "live.db"
    optuna.create_study(study_name="quora", storage=open_storage(f"sqlite:///{live}"))
    writer = sqlite3.connect(live)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # keep the change in the -wal file
    writer.execute(
        "INSERT INTO study_user_attributes (study_id, key, value_json) VALUES (1, 'k', '1')"
    )
    writer.commit()
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(live, folder / "quora.db")
    shutil.copy(live.with_name("live.db-wal"), folder / "quora.db-wal")
    writer.close()
    url = f"sqlite:///{folder}/quora.db"
    with read_only_folder(folder):
        code, _, err = cli("leaderboard", str(study_file), "--storage", url)
    assert code == 1 and "Traceback" not in err and err.strip().count("\n") == 0
    assert f"its folder {folder} cannot be written" in err and "quora.db-wal" in err


# ---- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://me:pw@host/studies", "http://host/db", "s3://bucket/x"])
def test_a_url_that_names_no_storage_is_one_line(url, quora_study, cli):
    code, _, err = cli("run", str(quora_study(name="nowhere")), "--storage", url)
    assert code == 1 and "Traceback" not in err and err.strip().count("\n") == 0
    scheme = url.partition(":")[0]
    assert f"{scheme!r} is not a kind of storage" in err
    assert ":pw@" not in err
