"""scripts/case_study_pages.py: the case-study pages take every number from the tool's files;
here the parts that decide what a page says (significance, paired rows, the index and the
README's block), on made-up data."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hpsearch.compare.model import Summary
from hpsearch.compare.suite.model import ArmLine, Profile, ProfileArm, SuiteSummary
from hpsearch.report.model import Seeded
from scripts import case_study_pages as pages
from tests.compare.suite.summaries import INFO, line, workload


@pytest.mark.parametrize(
    ("p", "low", "high", "verdict"),
    [
        (0.01, 0.01, 0.03, "significant at the 5% level"),
        (0.01, -0.03, -0.01, "significant at the 5% level"),
        (0.04, -0.01, 0.03, "not significant"),  # the t-test and the CI disagree: not
        (0.20, -0.01, 0.03, "not significant"),
        (None, None, None, "not testable"),
    ],
)
def test_a_difference_is_significant_only_when_the_test_and_the_ci_agree(p, low, high, verdict):
    assert pages.significance(p, low, high).startswith(verdict)


def seeded(values: tuple[float, ...]) -> Seeded:
    mean = sum(values) / len(values)
    return Seeded(
        seeds=tuple(range(len(values))),
        values={"accuracy": values},
        summary={"accuracy": Summary(len(values), mean, None, max(values), min(values))},
    )


def test_two_rows_are_compared_seed_by_seed():
    """Rows re-run with the same seeds pair up: a steady lead of about 2 points is
    significant although the seeds move both rows by more than that."""
    a = seeded((0.82, 0.865, 0.80, 0.845))
    b = seeded((0.80, 0.84, 0.78, 0.82))
    text = pages.seeded_pair("accuracy", a, b)
    assert text.startswith("Δ +2.25 [") and "over 4 paired seeds" in text
    assert text.endswith("): significant at the 5% level")
    # Binary fractions: every difference exactly 0.125, so the t-test is undefined.
    same = pages.seeded_pair(
        "accuracy", seeded((0.5, 0.75, 0.25, 0.625)), seeded((0.375, 0.625, 0.125, 0.5))
    )
    assert same.endswith("not testable (fewer than 2 seeds, or every difference the same)")


def test_the_tool_s_markdown_goes_one_level_down_with_its_plots_beside_the_page():
    text = "# Report: s\n\n## Learning schemes\n\n![tuning](tuning.png)\n"
    assert pages.tool_markdown(text, "sst2-survey") == (
        "## Report: s\n\n### Learning schemes\n\n![tuning](sst2-survey/tuning.png)\n"
    )


def test_a_template_starts_with_its_one_line_result():
    case = pages.CASES["quora"]
    summary, page = pages.split_summary("<!-- summary: F1 up\n by 2 -->\n# Page\n", case)
    assert (summary, page) == ("F1 up by 2", "# Page\n")
    with pytest.raises(SystemExit, match="must start with <!-- summary: -->"):
        pages.split_summary("# Page\n", case)


def test_the_index_and_the_readme_block_list_each_page_with_its_result(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "REPO", tmp_path)
    monkeypatch.setattr(pages, "PAGES", tmp_path / "docs" / "case-studies")
    (tmp_path / "docs" / "case-studies").mkdir(parents=True)
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n\n<!-- case studies: written by scripts/case_study_pages.py -->\nold\n"
        "<!-- /case studies -->\n\n## next\n"
    )
    pages.write_index({"sst2": "schemes differ", "quora": "M-FAC lost"})
    pages.write_index({"multitask": "PCGrad tied"})  # one page again: the others stay
    index = (tmp_path / "docs" / "case-studies" / "README.md").read_text()
    lines = [line for line in index.splitlines() if line.startswith("- [")]
    assert [line.split("](")[1].split(")")[0] for line in lines] == [
        "quora-mfac.md",
        "sst2-survey.md",
        "multitask.md",
    ]
    text = readme.read_text()
    assert "old" not in text and text.endswith("<!-- /case studies -->\n\n## next\n")
    assert "](docs/case-studies/multitask.md): PCGrad tied" in text
    readme.write_text("# no block\n")
    with pytest.raises(SystemExit, match="no case-studies block"):
        pages.write_index({"quora": "M-FAC lost"})


def _verdict(arm: str, delta: float, low: float, high: float, p_holm: float) -> ArmLine:
    """M-FAC's line against the baseline, with its difference, CI and Holm-corrected p."""
    return replace(line(arm, p_holm), delta=delta, ci_low=low, ci_high=high, p_holm=p_holm)


def test_the_suite_line_gives_the_verdicts_that_hold_after_holm(tmp_path):
    summary = tmp_path / "summary.json"
    assert "Over" not in pages.suite_line(summary)  # not run yet: what it is, no result
    adamw = line("AdamW", baseline=True)
    workloads = tuple(
        replace(workload(name, adamw, mfac), metric="pearson")
        for name, mfac in (
            ("stsb", _verdict("M-FAC", 0.158, 0.055, 0.261, 0.042)),
            ("sst2", _verdict("M-FAC", -0.06, -0.13, 0.01, 0.4)),  # p below 5% before Holm only
            ("qqp", line("M-FAC", why="never learned")),
        )
    )
    names = tuple(w.name for w in workloads)
    seconds = Profile(
        "seconds",
        "training seconds to the target",
        names,
        (
            ProfileArm("AdamW", (1.0,) * 3, (1.0,) * 3, 0.9054),
            ProfileArm("M-FAC", (2.0,) * 3, (2.0,) * 3, 0.6089),
        ),
        4.0,
    )
    made = SuiteSummary(2, "2026-01-01T00:00:00+00:00", INFO, workloads, 2, (seconds,), ())
    summary.write_text(json.dumps(made.to_dict()))
    text = pages.suite_line(summary)
    assert (
        "Over 3 workloads: M-FAC better than AdamW on stsb (pearson Δ +15.80 [5.50, 26.10]" in text
    )
    assert "Holm p 0.042); no difference shown on sst2;" in text
    assert "; no verdict (an arm never learned) on qqp;" in text
    assert "AdamW 0.905, M-FAC 0.609" in text
