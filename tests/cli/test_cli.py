from __future__ import annotations

import pytest

from hpsearch.cli.registries import LISTED
from hpsearch.train.trainer import cpu_has_native_bf16


def test_help_lists_commands_with_examples(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert "run" in out and "leaderboard" in out and "hpsearch run studies/" in out
    assert "AdamW, M-FAC, SGD" in out  # the optimizer registry's labels
    for listed in LISTED:
        assert f"hpsearch {listed.command}" in out


def test_bad_spec_is_one_line_and_creates_nothing(quora_study, tmp_path, cli):
    path = quora_study(name="bad")
    code, _, err = cli("run", str(path), "--set", "train.lr=-1")
    assert code == 1
    assert err.startswith("error: ") and "`train.lr`" in err and str(path) in err
    assert "Traceback" not in err
    assert not (tmp_path / "bad.db").exists()


def test_malformed_set_is_reported(quora_study, cli):
    code, _, err = cli("run", str(quora_study()), "--set", "epochs")
    assert code == 1 and "--set" in err and "section.key=value" in err


def test_leaderboard_of_a_missing_study_creates_no_database(quora_study, tmp_path, cli):
    path = quora_study(name="never")
    code, _, err = cli("leaderboard", str(path))
    assert code == 1 and "no study 'never'" in err and "hpsearch run" in err
    assert not (tmp_path / "never.db").exists()


def test_missing_study_file_is_a_usage_error(tmp_path, cli):
    code, _, err = cli("run", str(tmp_path / "nope.toml"))
    assert code == 2 and "does not exist" in err


def test_run_then_leaderboard(quora_study, cli):
    path = quora_study(name="tiny", n_trials=2, train=64, eval=64)
    code, out, err = cli("run", str(path))
    assert code == 0, err
    assert "2/2 trials finished" in out and "trial 0 complete" in err
    # train.precision = "auto": bf16 on a CPU that multiplies bf16 natively, else fp32
    precision = "bf16" if cpu_has_native_bf16() else "fp32"
    assert f"trained on cpu, {precision};" in " ".join(out.split())
    code, out, _ = cli("leaderboard", str(path), "--top", "1")
    assert code == 0
    assert "complete" in out and "rank" in out and "lr" in out
    assert out.count("complete") == 1  # --top 1


def test_optimizers_lists_the_registry(cli):
    code, out, _ = cli("optimizers")
    assert code == 0
    for name in ("adamw", "mfac", "sgd", "num_grads=1024", "damp=1e-06"):
        assert name in out


@pytest.mark.parametrize("listed", LISTED, ids=[listed.command for listed in LISTED])
def test_every_registry_is_listed_with_labels_and_defaults(cli, listed):
    code, out, _ = cli(listed.command)
    assert code == 0
    assert listed.key in out and listed.options in out
    for name, entry in listed.registry.items():
        assert name in out and entry.label in out
        for option, default in entry.options.items():
            assert f"{option}={default!r}" in out


@pytest.mark.parametrize("listed", LISTED, ids=[listed.command for listed in LISTED])
def test_every_listing_has_help_naming_its_key(cli, listed):
    code, out, _ = cli(listed.command, "--help")
    assert code == 0 and listed.key in out


def test_listings_show_the_pruner_and_schedule_options(cli):
    _, out, _ = cli("pruners")
    assert "successive-halving" in out and "percentile=25.0" in out
    _, out, _ = cli("schedules")
    assert "slanted_triangular" in out and "cut_frac=0.1" in out and "ratio=32.0" in out
