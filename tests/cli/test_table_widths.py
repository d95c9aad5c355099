"""Tables fit an 80- or 120-column terminal: the least important columns drop (the caption
names them), the objective, the learning rate and the row labels stay, and no number is
cut to ``0…``. On the leaderboard, the run summary, and the tables of compare and report
(drawn from the golden compare.json and report.json: nothing runs)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from hpsearch.cli.fit import FittedTable
from hpsearch.cli.tables import comparison_tables, space_tables, terminal_tables
from hpsearch.cli.views import render_leaderboard, render_study_summary
from hpsearch.compare.model import CompareReport
from hpsearch.report.model import Report
from hpsearch.search.leaderboard import LeaderboardRow, StudySummary

GOLDEN = Path(__file__).parents[1] / "compare" / "golden"
WIDTHS = (80, 120)


def draw(table: FittedTable, width: int) -> list[str]:
    """The table drawn on a ``width``-column console, as its lines."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(table)
    return console.file.getvalue().splitlines()


def assert_fits_whole(table: FittedTable, width: int) -> list[str]:
    """Every line within ``width``; nothing cut to ``…``; each kept cell of a column of
    numbers on one line, whole; each word of a text column whole. The lines."""
    lines = draw(table, width)
    assert all(Text(line).cell_len <= width for line in lines), "\n".join(lines)
    assert not any("…" in line for line in lines), "\n".join(lines)
    for i in table.kept(width):
        column = table.columns[i]
        for row in table.rows:
            cell = str(row[i]) if not isinstance(row[i], Text) else row[i].plain
            parts = cell.split() if column.wrap else [cell]
            for part in parts:
                assert any(part in line for line in lines), f"{column.header}: {part!r} cut"
    return lines


def caption_of(lines: list[str]) -> str:
    """The text below the table's last border, joined into one line."""
    last = max(i for i, line in enumerate(lines) if line.startswith("└"))
    return " ".join(" ".join(lines[last + 1 :]).split())


def leaderboard_rows() -> list[LeaderboardRow]:
    """A quickstart-like study: two optimizers, five params, four metrics, all states."""
    params = {
        "optimizer.kind": "mfac",
        "train.lr": 0.0003125,
        "train.batch_size": 16,
        "train.hidden_dropout": 0.1292,
        "optimizer.num_grads": 16,
        "optimizer.damp": 0.000778,
    }
    metrics = {"f1": 0.8123, "accuracy": 0.7969, "mcc": 0.5912, "loss": 0.4817}
    rows = []
    for rank, state in enumerate(["complete", "complete", "pruned", "running", "failed"], 1):
        rows.append(
            LeaderboardRow(
                rank=rank,
                trial=rank + 10,
                state=state,
                value=0.8123 - rank / 100,
                metrics=metrics,
                params=params,
                epochs=1.0,
                duration=754.0,
                fail_reason=None,
                one_class=rank == 2,
            )
        )
    return rows


@pytest.mark.parametrize("width", WIDTHS)
def test_the_leaderboard_fits_and_keeps_the_objective_and_the_learning_rate(width):
    table = render_leaderboard(leaderboard_rows(), "f1", title="quickstart")
    lines = assert_fits_whole(table, width)
    header = next(line for line in lines if "rank" in line)
    for kept in ("rank", "trial", "state", "f1", "lr"):
        assert f" {kept} " in header
    kept = {table.columns[i].header for i in table.kept(width)}
    dropped = [c.header for c in table.columns if c.header not in kept]
    assert dropped, "a quickstart leaderboard is wider than 120 columns"
    caption = caption_of(lines)
    assert f"left out to fit {width} columns: {', '.join(dropped)}" in caption
    assert "¹ one class" in caption  # the legend of trial 12's mark


def test_epochs_and_time_drop_before_the_params():
    table = render_leaderboard(leaderboard_rows(), "f1")
    kept = {table.columns[i].header for i in table.kept(120)}
    assert "epochs" not in kept and "time" not in kept
    assert {"kind", "lr", "batch_size"} <= kept


def test_a_wide_console_shows_every_column_and_says_nothing_was_left_out():
    table = render_leaderboard(leaderboard_rows(), "f1")
    lines = assert_fits_whole(table, 240)
    assert table.kept(240) == list(range(len(table.columns)))
    assert "left out" not in "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_storage_summary_fits(width):
    row = StudySummary(
        study="quickstart-with-a-long-name-reseed",
        metric="f1",
        direction="maximize",
        trials=12,
        states={"complete": 9, "pruned": 2, "running": 0, "waiting": 0, "failed": 1},
        best_value=0.8123,
        best_trial=7,
        best_params={"train.lr": 0.0003125, "train.batch_size": 16, "optimizer.kind": "mfac"},
    )
    lines = assert_fits_whole(render_study_summary([row, row]), width)
    assert any("0.8123" in line for line in lines)


def compare_tables() -> list[FittedTable]:
    doc = CompareReport.from_dict(json.loads((GOLDEN / "compare.json").read_text()))
    comp = doc.comparison
    return [space_tables(comp.space, [a.name for a in comp.arms]), *comparison_tables(comp)]


def report_tables() -> list[FittedTable]:
    report = Report.from_dict(json.loads((GOLDEN / "report.json").read_text()))
    return terminal_tables(report)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("tables", [compare_tables, report_tables], ids=["compare", "report"])
def test_compare_and_report_tables_fit_with_every_number_whole(tables, width):
    for table in tables():
        lines = assert_fits_whole(table, width)
        dropped = [table.columns[i].header for i in range(len(table.columns))]
        dropped = [h for i, h in enumerate(dropped) if i not in table.kept(width)]
        if dropped:
            caption = caption_of(lines)
            assert f"left out to fit {width} columns" in caption
            assert ".md has every column" in caption


def test_the_model_cards_keep_the_objective_and_its_difference_at_80_columns():
    (cards, *_) = comparison_tables(
        CompareReport.from_dict(json.loads((GOLDEN / "compare.json").read_text())).comparison
    )
    kept = [cards.columns[i].header for i in cards.kept(80)]
    assert kept[:2] == ["", "F1"]
    assert any(h.startswith("Δ F1") for h in kept)
    assert "optimizer state" not in kept  # the least of the comparison's columns


def calibration():
    """The quickstart's three arms as the stand-in probe measures them: AdamW, M-FAC m=8
    probed under other settings, and M-FAC m=16 whose probes never learned."""
    import dataclasses

    from hpsearch.search.calibration.calibrating import ladders
    from hpsearch.search.calibration.model import ArmCalibration, Calibration, ProbeSettings
    from hpsearch.spec.load import load_spec
    from tests.fakes import StandInProbe
    from tests.studies import QUICKSTART

    spec = load_spec(QUICKSTART, ["space.optimizer.num_grads={ choices = [8, 16] }"])

    def run(arm, lr):
        probe = StandInProbe.run(spec, arm, lr, ProbeSettings(), None)
        if arm.num_grads == 16:  # one class everywhere: no range
            return dataclasses.replace(probe, verdict="one class", metric=0.5)
        return probe

    adamw, m8, m16 = ladders(spec, [], ProbeSettings(), run)
    changed = ("train.batch_size was 16, now 32",)
    return Calibration("quickstart", (adamw, ArmCalibration(m8.arm, "stale", changes=changed), m16))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_calibration_table_fits_and_keeps_the_arm_and_its_range(width):
    from hpsearch.cli.calibrate import calibration_table

    table = calibration_table(calibration())
    lines = assert_fits_whole(table, width)
    kept = [table.columns[i].header for i in table.kept(width)]
    assert kept[0] == "arm" and "chosen lr range" in kept
    rows = [line.split("│")[1:-1] for line in lines if line.startswith("│")]
    # A text cell wraps between words, each on its row's lines: read each column's words.
    words = [" ".join(" ".join(r[i] for r in rows).split()) for i in range(len(rows[0]))]
    ranges = words[kept.index("chosen lr range")]
    assert "0.0001 – 0.00316 (best 1e-3: 0.80)" in ranges
    assert "stale: train.batch_size was 16, now 32" in ranges
    assert "none: no probe learned" in ranges
    if "probes: lr and result" in kept:
        ladder = words[kept.index("probes: lr and result")]
        assert "3e-5 1c · 1e-4 0.70 · 3e-4 0.75 · 1e-3 0.80 · 3e-3 0.75 · 1e-2 1c" in ladder
