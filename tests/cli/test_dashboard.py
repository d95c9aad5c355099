"""optuna-dashboard: the study file as the study's note, and the real server on loopback,
read back through its HTTP API, then stopped. Bounded waits only; 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import urllib.request
from pathlib import Path

import optuna
import pytest

from hpsearch.cli.dashboard_server import HOST, make_dashboard_server
from hpsearch.search.study import open_storage, run_study
from hpsearch.spec.load import load_spec
from tests.studies import QuoraStudies


@pytest.fixture(scope="module")
def finished(tmp_path_factory, cs224n) -> Path:
    """A study run by hpsearch: one tiny trial (32 Quora pairs, one layer)."""
    path = QuoraStudies(tmp_path_factory.mktemp("dashboard"))(
        name="dash",
        n_trials=1,
        train=32,
        eval=32,
        set=["task.max_length=32", "model.num_hidden_layers=1", "train.evals_per_epoch=1"],
    )
    summary = run_study(load_spec(path))
    assert summary.finished == 1
    return path


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_run_study_saves_the_study_file_as_the_dashboard_note(finished):
    from optuna_dashboard import get_note

    spec = load_spec(finished)
    study = optuna.load_study(study_name="dash", storage=spec.study.storage)
    note = get_note(study)
    assert finished.read_text() in note and "## dash" in note


def test_server_shows_the_study_its_note_metric_and_user_attrs(finished):
    spec = load_spec(finished)
    server = make_dashboard_server(open_storage(spec.study.storage), 0)
    assert server.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://{HOST}:{server.server_port}"
        studies = get_json(f"{base}/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == ["dash"]
        detail = get_json(f"{base}/api/studies/{studies[0]['study_id']}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert detail["objective_names"] == ["f1"]  # study.set_metric_names at creation
    assert "[study]" in detail["note"]["body"] and 'name = "dash"' in detail["note"]["body"]
    (trial,) = detail["trials"]
    assert trial["state"] == "Complete"
    attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
    assert {"metrics", "evals", "wall_time"} <= set(attrs)
    assert json.loads(attrs["metrics"])["f1"] == pytest.approx(trial["values"][0])
    study_attrs = {a["key"] for a in detail["user_attrs"]}
    assert {"spec", "study_file"} <= study_attrs


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.mark.skipif(os.name != "posix", reason="select() on pipes, SIGINT")
def test_cli_serves_an_older_study_with_a_note_added_and_stops_on_ctrl_c(
    quora_study, cli_process, wait_for_line
):
    """A study created without hpsearch's note (an older one) gets it; Ctrl-C exits 0."""
    path = quora_study(name="older")
    spec = load_spec(path)
    study = optuna.create_study(study_name="older", storage=spec.study.storage)
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5))
    port = free_port()
    proc = cli_process.start("dashboard", str(path), "--port", str(port))
    try:
        line = wait_for_line(proc, "optuna-dashboard on", timeout=120)
        assert f"http://127.0.0.1:{port}/dashboard/studies/" in line
        studies = get_json(f"http://127.0.0.1:{port}/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == ["older"]
        detail = get_json(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert 'name = "older"' in detail["note"]["body"]
    assert [t["values"] for t in detail["trials"]] == [[0.5]]


def test_cli_dashboard_of_a_missing_study_creates_nothing(quora_study, tmp_path, cli):
    path = quora_study(name="ghost")
    code, _, err = cli("dashboard", str(path), "--port", "0")
    assert code == 1 and "no study 'ghost'" in err
    assert not (tmp_path / "ghost.db").exists()


def test_cli_dashboard_on_a_taken_port_is_a_clear_error(quora_study, cli):
    path = quora_study(name="busy")
    optuna.create_study(study_name="busy", storage=load_spec(path).study.storage)
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("dashboard", str(path), "--port", str(port))
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
