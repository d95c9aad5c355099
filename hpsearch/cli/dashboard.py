"""``hpsearch dashboard``: optuna-dashboard on a study's storage, on 127.0.0.1 only."""

from __future__ import annotations

from typing import Annotated

import typer

from hpsearch.cli.options import Storage, StudyFile, error_console


def dashboard(
    study_file: StudyFile,
    storage: Storage = None,
    port: Annotated[
        int,
        typer.Option(
            "--port", min=0, max=65535, metavar="PORT", help="Port on 127.0.0.1; 0: any free."
        ),
    ] = 8080,
) -> None:
    """Open a study in optuna-dashboard (every study of its storage), until Ctrl-C.

    Listens on 127.0.0.1 only: the dashboard can edit and delete studies and has no login.
    To look from another machine, forward the port (ssh -L 8080:127.0.0.1:8080 host).
    """
    # Imported here, not above, so that `hpsearch --help` does not pay for them.
    from hpsearch.cli.dashboard_server import HOST, make_dashboard_server
    from hpsearch.search.interrupts import stop_on_signals
    from hpsearch.search.note import has_note, save_study_note
    from hpsearch.search.storage import open_storage
    from hpsearch.search.study import load_study
    from hpsearch.spec.load import load_spec

    spec = load_spec(study_file)
    url = storage or spec.study.storage
    assert url is not None
    study = load_study(spec, url)  # a clear error, and no empty database, if never run
    if not has_note(study):  # studies created before hpsearch saved the note
        save_study_note(study, spec)
    storage_ = open_storage(url)
    study_id = storage_.get_study_id_from_name(spec.study.name)
    server = make_dashboard_server(storage_, port)
    address = f"http://{HOST}:{server.server_port}"
    # Its own handlers, as `hpsearch run` installs: started from a shell that ignores SIGINT
    # (a background job), Python inherits the ignore and Ctrl-C would never stop it.
    # Installed before the line that says Ctrl-C stops it.
    try:
        with stop_on_signals():
            error_console().print(
                f"optuna-dashboard on {address}/dashboard/studies/{study_id} "
                f"(study {spec.study.name}); Ctrl-C to stop",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C (or SIGTERM) is how the dashboard is meant to stop: exit 0
    finally:
        server.server_close()
