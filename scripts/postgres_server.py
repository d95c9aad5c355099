"""A throwaway PostgreSQL server on loopback, for the tests and scripts/stress_workers.py.

It needs the server binaries (Debian: ``apt-get install postgresql``) and psycopg
(``pip install -e '.[postgres]'``). Run as root, the server runs as the ``postgres`` user,
since PostgreSQL refuses to run as root.

    python scripts/postgres_server.py   # starts one, prints its URL, stops on Ctrl-C
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

DATABASE = "hpsearch"


def find_bindir() -> Path | None:
    """The folder with initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent  # the real folder, not a symlink's
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(found[0]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server(password: str | None = None) -> Iterator[str]:
    """Start a server with an empty database; yield its SQLAlchemy URL; stop and delete it.

    With ``password``, connections over TCP must give it (scram-sha-256); the URL yielded
    holds none, so the caller chooses how to pass it (in the URL, PGPASSWORD, ~/.pgpass).
    """
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="hpsearch-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    env = dict(os.environ)
    auth = ["--auth=trust"]
    if password is not None:
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        if as_user:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        env["PGPASSWORD"] = password  # for createdb below, over TCP

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, text=True, env=env)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", DATABASE, *auth, "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        )
        try:
            run(
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                DATABASE,
                DATABASE,
            )
            yield f"postgresql://{DATABASE}@127.0.0.1:{port}/{DATABASE}"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"{' '.join(e.cmd)} failed: {e.stderr.strip()}") from e
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    import time

    with postgres_server() as url:
        print(url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
