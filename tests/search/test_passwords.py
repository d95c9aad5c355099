"""A database password never shows: not in messages or hints, not on worker command lines,
not in what a study stores; and libpq's own ways to give it (PGPASSWORD, ~/.pgpass) work."""

from __future__ import annotations

import os
from urllib.parse import quote

import optuna
import pytest

from hpsearch.search.storage import STORAGE_ENV, display_url, mask_secrets
from hpsearch.search.workers import worker_command, worker_env
from scripts.postgres_server import find_bindir, postgres_server

SECRET = "s3cr@t:pw/x"  # holds "@", ":" and "/", as real passwords do
ENCODED = quote(SECRET, safe="")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:s3cret@host/db", "postgresql://me:***@host/db"),
        (f"postgresql://me:{ENCODED}@host:5432/db", "postgresql://me:***@host:5432/db"),
        ("postgresql://me:p@ss@word@host/db", "postgresql://me:***@host/db"),  # "@" unencoded
        ("postgresql://me@host/db?password=s3cret", "postgresql://me@host/db?password=***"),
        (
            "postgresql://me@host/db?sslmode=require&PASSWORD=s3cret&x=1",
            "postgresql://me@host/db?sslmode=require&PASSWORD=***&x=1",
        ),
        ("postgresql://me@host/db", "postgresql://me@host/db"),
        ("sqlite:////tmp/a@b.db", "sqlite:////tmp/a@b.db"),
    ],
)
def test_display_url_hides_every_form_of_password(url, shown):
    assert display_url(url) == shown


def test_mask_secrets_hides_the_urls_in_a_study_file():
    text = f'[study]\nname = "x"\nstorage = "postgresql://me:{SECRET}@db-host/studies"\n'
    masked = mask_secrets(text)
    assert SECRET not in masked and "s3cr" not in masked
    assert 'storage = "postgresql://me:***@db-host/studies"' in masked


def test_workers_get_the_url_in_their_environment_not_their_command_line(tmp_path):
    url = f"postgresql://me:{ENCODED}@db-host/studies"
    command = worker_command(
        tmp_path / "s.toml",
        0,
        n_trials=4,
        timeout=None,
        overrides=[f"study.storage={url}", "train.epochs=1"],
    )
    assert not any(ENCODED in part or "db-host" in part for part in command)
    assert command[-2:] == ["--set", "train.epochs=1"]  # other overrides pass through
    assert worker_env(0, 2, url)[STORAGE_ENV] == url  # readable by this user only


@pytest.fixture(scope="module")
def protected_server() -> str:
    """A PostgreSQL server that asks for :data:`SECRET`; its URL without the password."""
    if find_bindir() is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with postgres_server(password=SECRET) as url:
        yield url


def with_password(url: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{quote(password, safe='')}@{host}"


def test_a_wrong_password_is_refused_without_showing_it(protected_server, quora_study, cli):
    url = with_password(protected_server, "wrong-one")
    code, _, err = cli("run", str(quora_study(name="wrong")), "--storage", url, "--workers", "0")
    assert code == 1 and "wrong-one" not in err and "***" in err


def test_the_workers_0_hint_and_the_stored_study_hide_the_password(
    protected_server, quora_study, cli
):
    url = with_password(protected_server, SECRET)
    # The study file names the storage itself, as a shared setup would.
    path = quora_study(name="hidden", set=[f"study.storage={url}"])
    code, out, err = cli("run", str(path), "--workers", "0")
    assert code == 0, err
    for text in (out, err):
        assert ENCODED not in text and "s3cr" not in text
    assert "ready in postgresql://hpsearch:***@" in out

    study = optuna.load_study(study_name="hidden", storage=url)
    from optuna_dashboard import get_note

    system_attrs = study._storage.get_study_system_attrs(study._study_id)  # the note's home
    stored = repr(study.user_attrs) + repr(system_attrs)
    assert ENCODED not in stored and "s3cr" not in stored
    assert "postgresql://hpsearch:***@" in get_note(study)
    assert study.user_attrs["spec"]["study"]["storage"] == display_url(url)
    assert "postgresql://hpsearch:***@" in study.user_attrs["study_file"]


def test_the_url_in_the_environment_is_used_and_never_printed(
    protected_server, quora_study, cli, monkeypatch
):
    url = with_password(protected_server, SECRET)
    monkeypatch.setenv(STORAGE_ENV, url)
    path = quora_study(name="fromenv")
    code, out, _ = cli("run", str(path), "--workers", "0")
    assert code == 0 and ENCODED not in out
    assert "HPSEARCH_STORAGE=postgresql://hpsearch:***@" in out
    code, out, err = cli("leaderboard", str(path))  # a study with no trials yet
    assert code == 0, err


def test_a_password_as_a_query_parameter_works_and_is_hidden(protected_server, quora_study, cli):
    url = f"{protected_server}?password={ENCODED}"
    code, out, err = cli("run", str(quora_study(name="query")), "--storage", url, "--workers", "0")
    assert code == 0, err
    assert ENCODED not in out + err and "password=***" in out


def test_pgpassword_and_pgpass_just_work(protected_server, quora_study, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    path = quora_study(name="pgpassword")
    code, _, err = cli("run", str(path), "--storage", protected_server, "--workers", "0")
    assert code == 0, err

    monkeypatch.delenv("PGPASSWORD")
    host_port = protected_server.partition("@")[2].partition("/")[0]
    pgpass = tmp_path / "pgpass"
    escaped = SECRET.replace(":", "\\:")  # a .pgpass field escapes ":" with a backslash
    pgpass.write_text(f"{host_port}:*:*:{escaped}\n")
    pgpass.chmod(0o600)  # libpq ignores a password file others can read
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    path = quora_study(name="pgpass")
    code, _, err = cli("run", str(path), "--storage", protected_server, "--workers", "0")
    assert code == 0, err
