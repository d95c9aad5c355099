"""optuna-dashboard on localhost only: the dashboard can edit studies, with no login.

The dashboard reads everything else from the storage as it is: the metric name (set with
``study.set_metric_names`` when the study is created) labels the objective, and the user
attrs that every trial stores (``metrics``, ``evals``, timings) show in its trial table.
"""

from __future__ import annotations

from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna

from hpsearch.errors import HpsearchError

HOST = "127.0.0.1"  # never another interface: the dashboard can edit studies, with no login


class DashboardError(HpsearchError):
    """The dashboard server cannot start (e.g. its port is taken)."""


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
