"""The command line's polish: --version, help that names its placeholders, listings that
show every option, and documentation whose links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib

import hpsearch

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("calibrate", "run", "leaderboard", "report", "compare", "dashboard")


def test_version_is_the_packages(cli):
    code, out, _ = cli("--version")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert code == 0 and out.strip() == f"hpsearch {hpsearch.__version__}"
    assert hpsearch.__version__ == project["version"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_placeholders_not_types(cli, command):
    code, out, _ = cli(command, "--help")
    assert code == 0
    # Typer's own placeholders: "{study_file}", "<list[Path]>", "<int range>", "<str>", ...
    assert not re.search(r"<(list\[|int|float|str|file|path)", out), out
    assert "{" not in out.split("\n", 1)[0], out
    usage = out.splitlines()[0]
    wanted = "STUDY_FILE..." if command in ("compare", "calibrate") else "STUDY_FILE"
    assert usage == f"Usage: hpsearch {command} [OPTIONS] {wanted}"
    assert "--set KEY=VALUE" in out or command == "dashboard"
    assert "--storage URL" in out


def test_run_help_names_each_number(cli):
    _, out, _ = cli("run", "--help")
    for option in ("--n-trials N", "--timeout S", "--workers N", "--worker-index K"):
        assert option in out


def test_pruners_show_the_options_every_pruner_takes(cli):
    code, out, _ = cli("pruners")
    text = " ".join(out.split())
    assert code == 0
    assert "Every pruner also takes: patience=0 (> 0: wrapped in Optuna's PatientPruner" in text
    assert "signal='metric' (\"loss\": compare the validation loss" in text
    _, out, _ = cli("samplers")
    assert "Every sampler also takes: seed=0" in " ".join(out.split())


# ---- documentation --------------------------------------------------------------------------


def _headings(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings."""
    anchors = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        found = re.match(r"#+\s+(.*)", line)
        if found:
            anchors.add(re.sub(r"[^\w\- ]", "", found.group(1).strip().lower()).replace(" ", "-"))
    return anchors


def test_every_link_of_the_readme_and_docs_leads_somewhere():
    """A relative link or image names a file that exists, and an anchor a heading of it."""
    broken = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("**/*.md"))]:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path) if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in _headings(linked):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []


def test_the_gpu_pages_speak_to_a_user_with_a_gpu():
    """No words about how this project's own checks were run."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    gpu = readme[readme.index("## On a GPU") :].split("\n## ", 1)[0]
    pages = [gpu, (REPO / "docs" / "gpu-check" / "README.md").read_text(encoding="utf-8")]
    for text in pages:
        for phrase in ("issue 16", "carried", "second call", "GPU session", "# here", "# there"):
            assert phrase not in text, phrase
