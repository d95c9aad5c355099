"""The GPU check's closing summary: one markdown table of every figure against its target.

Usage:
    python3 scripts/gpu/summary.py OUTDIR [--report-md FILE]

Reads what ``scripts/gpu_check.sh`` left in OUTDIR (``steps.tsv``, ``env.json``,
``pytest.xml``, ``bench_mfac.json``, ``bench_trainer.json``, ``report.json``), writes
``OUTDIR/summary.md`` and prints it. A missing or unreadable file is a row that says so,
never an error: the summary is what a cut-short check still returns. ``--report-md``
appends the comparison's ``report.md`` to the file (not to the printout, which stays short
enough for the last lines of a device reply).

Targets (issue 16, on the H200): every test passes; no host sync in a dense M-FAC step;
an M-FAC step at m = 1024 within 1.5x two reads of its buffer at the measured bandwidth;
hpsearch's trainer at 1.5x or more of Hugging Face Trainer's samples/s.
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

GIB = 2**30
STEP_TARGET = 1.5  # M-FAC step / two reads of its buffer, at m = 1024
TRAINER_TARGET = 1.5  # hpsearch / Trainer-dynamic samples/s
SYNC_TESTS = {
    "test_dense_step_does_not_sync": "no host sync in a dense M-FAC step",
    "test_row_sparse_step_syncs_once": "one host sync in a row-sparse M-FAC step",
}

Row = tuple[str, str, str, str]  # what, figure, target, met


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def guarded(name: str, path: Path, rows: Callable[[Path], list[Row]]) -> list[Row]:
    """``rows(path)``, or one row saying why there are none."""
    if not path.is_file():
        return [(name, f"no {path.name} (step failed or not reached)", "", "**no**")]
    try:
        return rows(path)
    except Exception as e:  # a half-written or changed file: say so, keep going
        return [(name, f"{path.name} unreadable: {type(e).__name__}: {e}", "", "**no**")]


# --------------------------------------------------------------------------- sections


def steps_table(path: Path) -> list[str]:
    if not path.is_file():
        return ["(no steps.tsv)"]
    lines = ["| step | exit | seconds | limit | command |", "|---|---|---|---|---|"]
    for line in path.read_text().splitlines():
        name, code, seconds, limit, command = (line.split("\t") + [""] * 5)[:5]
        shown = {"124": "124 (timed out)", "137": "137 (killed)"}.get(code, code)
        lines.append(f"| {name} | {shown} | {seconds} | {limit} | `{command}` |")
    return lines


def test_rows(path: Path, cuda: bool) -> list[Row]:
    """Counts of every outcome, the failed tests by name, and the two sync tests' outcomes
    (skipped without CUDA: not applicable then, a failure on the GPU)."""
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))

    def outcome(case: ET.Element) -> str:
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                return tag
        return "passed"

    counts: dict[str, int] = {}
    for case in cases:
        counts[outcome(case)] = counts.get(outcome(case), 0) + 1
    bad = [
        f"{c.get('classname')}::{c.get('name')}"
        for c in cases
        if outcome(c) in ("failure", "error")
    ]
    figure = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    if bad:
        figure += "; failed: " + ", ".join(bad[:8]) + (" ..." if len(bad) > 8 else "")
    rows = [("tests (CUDA, M-FAC, trainer)", figure, "all pass", verdict(not bad and bool(cases)))]
    for test, what in SYNC_TESTS.items():
        mine = [outcome(c) for c in cases if (c.get("name") or "").startswith(test)]
        ran = [o for o in mine if o != "skipped"]
        figure = f"{ran.count('passed')}/{len(ran)} passed" if ran else "not run (skipped)"
        ok = bool(ran) and all(o == "passed" for o in ran)
        rows.append((what, f"{figure} ({test})", "passes", verdict(ok if cuda else None)))
    return rows


def mfac_rows(path: Path) -> list[Row]:
    report = load_json(path)
    bandwidth = report["setup"]["bandwidth"]
    rows = []
    for r in report["results"]:
        if r.get("kind") != "mfac":
            continue
        layout = "row-sparse" if r.get("layout") == "rows" else "dense"
        what = f"M-FAC step, {layout}, m = {r['m']}"
        if "error" in r:
            rows.append((what, f"error: {r['error']}", "", "**no**"))
            continue
        figure = (
            f"{r['step_median'] * 1e3:.2f} ms; bound {r['bound'] * 1e3:.2f} ms = 2 x "
            f"{r['buffer_bytes'] / GIB:.2f} GiB at {bandwidth / 1e9:,.0f} GB/s: "
            f"**{r['ratio_median']:.2f}x**; peak {r['peak_bytes'] / GIB:.2f} GiB"
        )
        target = r["m"] == 1024
        ok = r["ratio_median"] <= STEP_TARGET if target else None
        rows.append((what, figure, f"<= {STEP_TARGET}x" if target else "(figure)", verdict(ok)))
    return rows


def trainer_rows(path: Path) -> list[Row]:
    report = load_json(path)
    results = {r["name"]: r for r in report["results"]}  # "hpsearch bf16": runner, precision
    setup = report["setup"]
    sps = {name: r["samples_per_s"] for name, r in results.items()}
    ratio = next(r["ratio_vs_dynamic"] for r in results.values() if r["runner"] == "hpsearch")
    setting = (
        f"{setup['train_samples']} pairs, batch {setup['batch_size']}, length "
        f"{setup['max_length']}, {report['args']['device']} {' and '.join(setup['precision'])}"
    )
    figure = ", ".join(f"{name} {v:,.0f}" for name, v in sps.items())
    f1 = ", ".join(f"{name} {r['f1']:.3f}" for name, r in results.items())
    return [
        (
            "hpsearch vs Trainer-dynamic, samples/s",
            f"{figure}: **{ratio:.2f}x** ({setting}; dev F1 {f1})",
            f">= {TRAINER_TARGET}x",
            verdict(ratio >= TRAINER_TARGET),
        )
    ]


def comparison_rows(path: Path) -> list[Row]:
    report = load_json(path)
    comparison = report["comparison"]
    complete = {
        s["name"]: sum(t["state"] == "complete" for t in s["trials"]) for s in report["studies"]
    }
    rows = []
    for m in comparison["metrics"][:3]:
        sides = []
        for arm in comparison["arms"]:  # the baseline (AdamW) first
            stats = arm["summary"][m]
            std = stats.get("std")
            spread = f" ± {100 * std:.2f}" if std is not None else ""
            sides.append(f"{arm['optimizer']} {100 * stats['mean']:.2f}{spread}")
        paired = next((p for p in comparison["paired"] if p["metric"] == m), None)
        figure = " vs ".join(sides) + f" (×100, {report['seeds']} seeds)"
        if paired is not None:
            figure += f": {100 * paired['mean']:+.2f}"
            p = paired["t_test"].get("p")
            figure += f", paired p = {p:.3g}" if p is not None else ""
        rows.append((f"AdamW vs M-FAC on Quora: {m}", figure, "(figure)", "-"))
    trials = ", ".join(f"{name} {n}" for name, n in complete.items())
    rows.append(("complete search trials", trials, "(figure)", "-"))
    return rows


def summary(outdir: Path) -> str:
    env = load_json(outdir / "env.json") if (outdir / "env.json").is_file() else {}
    gpu = env.get("gpu", {})
    packages = env.get("packages", {})
    versions = ", ".join(
        f"{n} {packages[n]['version']}"
        for n in ("transformers", "optuna", "datasets")
        if n in packages
    )
    checks = env.get("checks", {})
    cuda = bool(gpu.get("cuda_available"))
    device = f"{gpu['name']} ({gpu.get('memory_gib', '?')} GiB)" if "name" in gpu else "CPU"
    head = (
        f"## GPU check: {device}, torch {gpu.get('torch', '?')}, "
        f"Python {env.get('python', '?')}, {versions}"
    )
    rows: list[Row] = [
        (f"preflight: {name}", c["detail"], "ok", verdict(c["ok"] == "yes"))
        for name, c in checks.items()
    ]
    rows += guarded("tests", outdir / "pytest.xml", lambda path: test_rows(path, cuda))
    rows += guarded("M-FAC benchmark", outdir / "bench_mfac.json", mfac_rows)
    rows += guarded("trainer benchmark", outdir / "bench_trainer.json", trainer_rows)
    rows += guarded("AdamW vs M-FAC", outdir / "report.json", comparison_rows)
    table = ["| check | figure | target | met |", "|---|---|---|---|"]
    table += [f"| {what} | {figure} | {target} | {met} |" for what, figure, target, met in rows]
    return "\n".join([head, "", *steps_table(outdir / "steps.tsv"), "", *table, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--report-md", type=Path, help="the comparison's report.md, appended")
    args = parser.parse_args(argv)
    text = summary(args.outdir)
    appendix = ""
    if args.report_md is not None and args.report_md.is_file():
        appendix = "\n---\n\n" + args.report_md.read_text()
    (args.outdir / "summary.md").write_text(text + appendix)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
