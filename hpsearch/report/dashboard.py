"""optuna-dashboard for a study: the study file as its note, and a server on localhost only.

The dashboard reads everything else from the storage as it is: the metric name (set with
``study.set_metric_names`` when the study is created) labels the objective, and the user
attrs that every trial stores (``metrics``, ``evals``, timings) show in its trial table.
"""

from __future__ import annotations

from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna

from hpsearch.errors import HpsearchError
from hpsearch.spec import Spec

HOST = "127.0.0.1"  # never another interface: the dashboard can edit studies, with no login


class DashboardError(HpsearchError):
    """The dashboard server cannot start (e.g. its port is taken)."""


def study_note(spec: Spec, intro: str = "") -> str:
    """Markdown note for the dashboard: the study file, verbatim, under its path."""
    try:
        text = Path(spec.source).read_text(encoding="utf-8")
    except OSError:
        text = ""
    lines = [f"## {spec.study.name}", ""]
    if intro:
        lines += [intro, ""]
    lines += [f"Study file `{spec.source}`:", "", "```toml", text.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def save_study_note(study: optuna.Study, spec: Spec, intro: str = "") -> None:
    """Save :func:`study_note` as the study's dashboard note (replacing an earlier one)."""
    from optuna_dashboard import save_note

    save_note(study, study_note(spec, intro))


def has_note(study: optuna.Study) -> bool:
    from optuna_dashboard import get_note

    return bool(get_note(study))


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a browser's open connection must not keep the process alive


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would bury the URL we print


def make_dashboard_server(storage: optuna.storages.BaseStorage, port: int) -> WSGIServer:
    """An optuna-dashboard WSGI server bound to 127.0.0.1:``port`` (0: any free port).

    The caller runs ``serve_forever()`` and, from another thread, ``shutdown()``; the bound
    port is ``server.server_port``.

    Raises:
        DashboardError: the port cannot be bound (taken, or not allowed).
    """
    from optuna_dashboard import wsgi

    try:
        return make_server(
            HOST, port, wsgi(storage), server_class=_Server, handler_class=_QuietHandler
        )
    except OSError as e:
        raise DashboardError(
            f"cannot listen on {HOST}:{port}: {e.strerror or e}; choose another with --port"
        ) from None
