"""SQLite URLs at the edges, found by running Optuna's own storage tests against
``open_storage``: an in-memory database, a percent-encoded path, Optuna's URL template,
and a storage pickled to another process. Each is the file SQLAlchemy opens, set up as a
plain file name is, or one line saying why not."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import optuna
import pytest
from sqlalchemy.engine import make_url

from hpsearch.search import storage as storage_module
from hpsearch.search.storage import StorageError, open_storage, storage_exists, storage_path


def journal_mode(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()


def write_lock_is_free(path: Path) -> bool:
    """Whether another connection can take the database's write lock at once."""
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as e:
        assert "locked" in str(e)
        return False
    finally:
        db.close()


@pytest.mark.parametrize(
    "url",
    ["sqlite:///:memory:", "sqlite://", "sqlite:///", "sqlite:///file:s?mode=memory&uri=true"],
)
@pytest.mark.parametrize("write", [True, False])
def test_an_in_memory_database_is_refused_with_one_line(url, write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError) as e:
        open_storage(url, write=write)
    message = str(e.value)
    assert message.startswith(f"a SQLite storage must name a file, but {url} is an in-memory")
    assert "\n" not in message and "sqlite:///study.db" in message
    assert list(tmp_path.iterdir()) == []


def test_a_percent_encoded_path_is_the_file_sqlalchemy_opens(tmp_path):
    url = f"sqlite:///{tmp_path}/my%20study.db"
    opened = tmp_path / "my study.db"
    assert storage_path(url) == opened
    optuna.create_study(study_name="s", storage=open_storage(url)).optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=2
    )
    assert not (tmp_path / "my%20study.db").exists()  # nothing under the URL's literal text
    assert journal_mode(opened) == "wal"
    assert storage_exists(url)
    study = optuna.load_study(study_name="s", storage=open_storage(url, write=False))
    assert len(study.trials) == 2


def test_a_percent_encoded_path_is_the_file_that_is_checked(tmp_path):
    (tmp_path / "my study.db").write_text("hello\n")
    with pytest.raises(StorageError, match=r"my study\.db is not a SQLite database"):
        open_storage(f"sqlite:///{tmp_path}/my%20study.db")
    with pytest.raises(StorageError, match=r"the file .*my%41\.db does not exist"):
        open_storage(f"sqlite:///{tmp_path}/my%2541.db", write=False)  # %25 is a %


def test_optuna_s_url_template_is_the_file_sqlalchemy_opens(tmp_path):
    url = f"sqlite:///{tmp_path}/s-{{SCHEMA_VERSION}}.db"
    optuna.create_study(study_name="s", storage=open_storage(url))
    (opened,) = tmp_path.glob("s-*.db")
    assert opened.name != "s-{SCHEMA_VERSION}.db" and opened.name[2:-3].isdigit()
    assert storage_path(url) == opened
    assert journal_mode(opened) == "wal"


def test_a_url_template_with_another_field_is_one_line(tmp_path):
    with pytest.raises(StorageError, match=r"whose only field is \{SCHEMA_VERSION\}.*'study'"):
        open_storage(f"sqlite:///{tmp_path}/{{study}}.db")


def test_a_pickled_storage_still_takes_the_write_lock_when_a_transaction_begins(tmp_path):
    path = tmp_path / "s.db"
    storage = open_storage(f"sqlite:///{path}")
    copy = pickle.loads(pickle.dumps(storage))  # as a process pool hands it to a worker
    for opened in (storage, copy):
        with opened.engine.begin() as connection:
            connection.exec_driver_sql("SELECT 1")  # a read: only BEGIN IMMEDIATE locks
            assert not write_lock_is_free(path)
        assert write_lock_is_free(path)
    study = optuna.create_study(study_name="s", storage=copy)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 1


def test_a_storage_opened_to_read_pickles_without_the_write_lock(tmp_path):
    path = tmp_path / "s.db"
    optuna.create_study(study_name="s", storage=open_storage(f"sqlite:///{path}"))
    copy = pickle.loads(pickle.dumps(open_storage(f"sqlite:///{path}", write=False)))
    with copy.engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")
        assert write_lock_is_free(path)


def test_the_immutable_url_of_a_read_only_folder_opens_the_file_it_names(tmp_path):
    """A file in a folder SQLite cannot write is read as immutable; its URL names the file
    whatever its name holds."""
    path = tmp_path / "my study%41.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    url = storage_module._immutable_url(path, f"sqlite:///{path}")
    opened = make_url(url)
    assert opened.query == {"mode": "ro", "immutable": "1", "uri": "true"}
    db = sqlite3.connect(f"{opened.database}?mode=ro&immutable=1", uri=True)
    try:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    finally:
        db.close()
