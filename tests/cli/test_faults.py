"""What a hostile or careless user meets on the command line: one line naming the file and
the rule, text from files printed as written, absurd settings refused, waits said."""

from __future__ import annotations

import io
import time

import pytest

from hpsearch.search.progress import Wait
from tests.commands import one_line


def test_the_wait_is_printed_once_on_a_console_that_is_not_a_terminal():
    from rich.console import Console

    from hpsearch.cli.progress import RunProgress

    out = io.StringIO()
    progress = RunProgress(Console(file=out, width=200))
    wait = Wait("trial 3 running elsewhere to finish", time.time() + 100, 1)
    for _ in range(3):
        progress.waiting(wait)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("waiting for trial 3 running elsewhere to finish (by ")


def test_a_binary_study_file_is_one_line(tmp_path, cli):
    path = tmp_path / "study.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    code, _, err = cli("run", str(path))
    assert code == 1
    assert f"{path}: a study file is UTF-8 text (TOML), but byte 0x89" in one_line(err)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"\tid\tsentence1\tsentence2\tis_duplicate\n", "the file has a header but no rows"),
        (b"\tid\tsentence1\tsentence2\tis_duplicate\n0\ta\t\xffx\ty\t1\n", "byte 0xff on line 2"),
        (b";id;sentence1;sentence2;is_duplicate\n0;a;x;y;1\n", "looks delimited by ';'"),
    ],
)
def test_a_bad_data_file_is_one_line_naming_it(content, expected, tmp_path, quora_study, cli):
    bad = tmp_path / "train.tsv"
    bad.write_bytes(content)
    path = quora_study(name="bad", set=[f"task.train_file={bad}"])
    code, _, err = cli("run", str(path))
    assert code == 1
    line = one_line(err)
    assert f"{bad}: " in line and expected in line
    assert "quora-dev.tsv" not in line  # the other file is fine: not named


def test_text_from_files_is_printed_as_written(tmp_path, quora_study, cli):
    """No rich markup and no emoji codes in what comes from a file (``:x:`` is an emoji)."""
    bad = tmp_path / "passwd.tsv"
    bad.write_text("root:x:0:0:[bold]root[/bold]:/root:/bin/bash\nline\n")
    path = quora_study(name="markup", set=[f"task.train_file={bad}"])
    code, _, err = cli("run", str(path))
    assert code == 1
    assert "'root:x:0:0:[bold]root[/bold]:/root:/bin/bash'" in one_line(err)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("study.name=..", "`study.name`: a study name names files and folders"),
        ("study.name=.", "never `.` or `..`"),
        ("study.name=a/b", "got 'a/b'"),
        ("train.epochs=1000000000", "`train.epochs`: Input should be less than or equal to 1000"),
        ("train.evals_per_epoch=1000000000", "`train.evals_per_epoch`"),
        ("space.train.epochs={ low = 1, high = 1000000000 }", "`space.train.epochs`"),
    ],
)
def test_absurd_settings_are_refused_naming_the_field(override, expected, quora_study, cli):
    code, _, err = cli("run", str(quora_study(name="absurd")), "--set", override)
    assert code == 1
    assert expected in one_line(err)


def test_a_study_that_searches_nothing_is_refused(quora_study, cli):
    path = quora_study(name="nothing", n_trials=3, set=["train.lr=1e-4"])
    code, _, err = cli("run", str(path))
    assert code == 1
    line = one_line(err)
    assert "searches nothing" in line and "its 3 trials would all be the same run" in line
    assert not (path.parent / "nothing.db").exists()  # refused before any storage
    code, _, err = cli("run", str(path), "--n-trials", "1", "--workers", "0")
    assert code == 0, err  # one trial of a fixed config is fine
