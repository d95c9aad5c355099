"""The pages of docs/case-studies/, written from what the tool wrote in a run of
scripts/case_studies.sh: nothing on a page is typed in by hand.

    python3 scripts/case_study_pages.py machine DIR         # what the runs ran on
    python3 scripts/case_study_pages.py pages DIR [CASE ...]  # quora, sst2, multitask

``DIR`` is case_studies.sh's CASE_DIR: its ``machine.json`` and each case's ``CASE-times.tsv``
(wall time of each step). A page is its template (``scripts/case_pages/CASE.md``: the
question, the source's numbers, how the run differs, the commands, the reading) with every
number filled in from the tool's files (``compare.json`` or ``report.json`` in the results
folder), then the tool's own markdown (``compare.md`` or ``report.md``) below it. The tool's
files are copied beside the page, ``docs/case-studies/SLUG/``; a plot over 200 KB stops the
script (GitHub pages stay light).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hpsearch.compare.markdown import markdown_table, params_text
from hpsearch.compare.model import CompareReport, Comparison, Paired, Summary, from_dict
from hpsearch.compare.stats import paired_ci, paired_t
from hpsearch.compare.suite.model import SuiteSummary
from hpsearch.compare.tables import cards_rows, digits, pm_cell, scale
from hpsearch.report.labels import scheme_label
from hpsearch.report.model import Report, SchemeRow, Seeded
from hpsearch.report.tables import multitask_rows, scheme_rows

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "docs" / "case-studies"
TEMPLATES = Path(__file__).resolve().parent / "case_pages"
RESULTS = REPO / "studies" / "results"
MAX_PLOT_BYTES = 200 * 1024


@dataclass(frozen=True)
class Case:
    key: str  # case_studies.sh's name for it
    slug: str  # the page: docs/case-studies/SLUG.md, the tool's files in SLUG/
    results: str  # the tool's results folder, under studies/results/
    kind: Literal["compare", "report"]  # which command wrote it


CASES = {
    c.key: c
    for c in (
        Case("quora", "quora-mfac", "quora-adam-vs-quora-mfac", "compare"),
        Case("sst2", "sst2-survey", "sst2-testbed", "report"),
        Case("multitask", "multitask", "multitask", "report"),
    )
}


def record_machine(folder: Path) -> None:
    """machine.json: the CPU, cores, memory, GPU and torch that the runs ran with (the pages
    say how many threads each step used: case_studies.sh's THREADS)."""
    import os
    import platform

    import torch

    def first(path: str, key: str) -> str:
        with open(path, encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(key)), "")

    info = {
        "cpu": first("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(first("/proc/meminfo", "MemTotal").split()[0]) / 2**20),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "machine.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


# --- numbers as the pages print them ---------------------------------------------------------


def value(metric: str, x: float | None) -> str:
    """A metric as the tool's tables print it (F1 and accuracy ×100)."""
    if x is None:
        return "–"
    return format(x * scale(metric), f".{digits(metric)}f")


def pm(metric: str, s: Summary) -> str:
    return pm_cell(s, digits(metric), scale(metric))


def p_text(p: float | None) -> str:
    if p is None:
        return "undefined"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def significant(p: float | None, low: float | None, high: float | None) -> bool:
    """Significant at 5%: the test's p says so and the CI excludes 0."""
    return (
        p is not None
        and low is not None
        and high is not None
        and p < 0.05
        and (low > 0 or high < 0)
    )


def significance(p: float | None, low: float | None, high: float | None) -> str:
    """The verdict in words (:func:`significant`)."""
    if p is None or low is None or high is None:
        return "not testable (fewer than 2 seeds, or every difference the same)"
    if significant(p, low, high):
        return "significant at the 5% level"
    return "not significant at the 5% level"


def paired_text(metric: str, p: Paired) -> str:
    ci = f"[{value(metric, p.ci_low)}, {value(metric, p.ci_high)}]"
    return (
        f"Δ {signed(metric, p.mean)} {ci} over {len(p.seeds)} paired seeds (paired t p = "
        f"{p_text(p.t_test.p)}, Welch p = {p_text(p.welch.p)}): "
        f"{significance(p.t_test.p, p.ci_low, p.ci_high)}"
    )


def signed(metric: str, x: float) -> str:
    return format(x * scale(metric), f"+.{digits(metric)}f")


def seeded_diff(metric: str, a: Seeded, b: Seeded) -> tuple[str, str, str, str]:
    """Row ``a`` against row ``b`` over their shared seeds, as compare computes it for arms:
    the mean paired difference, its CI (paired t), the paired t-test's p, and the verdict."""
    x, y = a.values[metric], b.values[metric]
    d = [u - v for u, v in zip(x, y, strict=True)]
    ci = paired_ci(d)
    t = paired_t(x, y)
    low, high = (None, None) if ci is None else ci
    mean = signed(metric, sum(d) / len(d))
    ci_text = f"[{value(metric, low)}, {value(metric, high)}]"
    return mean, ci_text, p_text(t.p), significance(t.p, low, high)


def seeded_pair(metric: str, a: Seeded, b: Seeded) -> str:
    """:func:`seeded_diff` as a sentence."""
    mean, ci, p, verdict = seeded_diff(metric, a, b)
    n = len(a.values[metric])
    return f"Δ {mean} {ci} over {n} paired seeds (paired t p = {p}): {verdict}"


# --- what each page fills in -----------------------------------------------------------------


def run_values(folder: Path, case: Case) -> dict[str, str]:
    """The machine and the wall time of each step of the case, from case_studies.sh."""
    machine = json.loads((folder / "machine.json").read_text(encoding="utf-8"))
    steps: dict[str, float] = {}
    finished = ""
    for line in (folder / f"{case.key}-times.tsv").read_text(encoding="utf-8").splitlines():
        name, seconds, finished = line.split("\t")
        steps[name] = steps.get(name, 0.0) + float(seconds)  # a resumed step adds up
    rows = "\n".join(f"| `{name}` | {minutes(s)} |" for name, s in steps.items())
    return {
        "machine": (
            f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
            f"{'GPU ' + machine['gpu'] if machine['gpu'] else 'no GPU'}, torch {machine['torch']}"
        ),
        "times_table": "| step | wall time |\n| --- | ---: |\n" + rows,
        "wall_total": minutes(sum(steps.values())),
        "finished": finished[:10],
    }


def comparison_values(comp: Comparison) -> dict[str, str]:
    """Arms, paired test, cost and the untuned first trial, from a comparison."""
    metric = comp.metric
    out = {
        "metric": metric,
        "budget": str(comp.budget),
        "seeds": str(len(comp.seeds)),
        "seed_list": ", ".join(map(str, comp.seeds)),
        "cards_table": markdown_table(cards_rows(comp)),
    }
    for arm, cost, curve in zip(comp.arms, comp.costs, comp.curves, strict=True):
        key = arm.optimizer
        config = next(c for c in comp.configs if c.arm == arm.name and c.trial == arm.best_trial)
        for m, s in arm.summary.items():
            out[f"{key}_{m}"] = pm(m, s)
        out[f"{key}_config"] = params_text(config.params)
        out[f"{key}_trial"] = str(arm.best_trial)
        # The first trial is the study file's enqueued untuned setting (the cards').
        out[f"{key}_first_trial"] = value(metric, curve.values[0])
        best = max(curve.values) if comp.direction == "maximize" else min(curve.values)
        out[f"{key}_search_best"] = value(metric, best)
        out[f"{key}_tuning_gain"] = format(abs(best - curve.values[0]) * scale(metric), ".2f")
        last = curve.points[-1]
        out[f"{key}_curve_k"] = str(last.k)
        out[f"{key}_curve"] = (
            f"{value(metric, last.expected)} [{value(metric, last.low)}, "
            f"{value(metric, last.high)}]"
        )
        half = next((p for p in curve.points if p.k == last.k // 2), None)
        out[f"{key}_curve_half"] = "–" if half is None else value(metric, half.expected)
        out[f"{key}_step"] = (
            "–" if cost.seconds_per_step is None else f"{cost.seconds_per_step:.3f}"
        )
        state = cost.optimizer_state_bytes
        out[f"{key}_state"] = "–" if state is None else f"{state / 2**20:,.0f} MiB"
    for p in comp.paired:
        kind = next(a.optimizer for a in comp.arms if a.name == p.arm)
        out[f"paired_{kind}_{p.metric}"] = paired_text(p.metric, p)
        out[f"verdict_{kind}_{p.metric}"] = significance(p.t_test.p, p.ci_low, p.ci_high)
    return out


def scheme_values(report: Report) -> dict[str, str]:
    """The learning schemes over seeds: the table, the best, the BERT recipe's row."""
    metric = report.metric
    rows = [r for r in report.schemes if r.seeded is not None]
    out = {"schemes_table": markdown_table(scheme_rows(report.schemes, metric))}
    if not rows:
        return out

    def seeded_mean(r: SchemeRow) -> float:
        assert r.seeded is not None
        return r.seeded.summary[metric].mean

    best, worst = max(rows, key=seeded_mean), min(rows, key=seeded_mean)
    recipe = next(
        (
            r
            for r in rows
            if (r.scheme.mode, r.scheme.optimizer) == ("full", "adamw")
            and not r.scheme.discriminative
            and not r.scheme.gradual_unfreezing
        ),
        None,
    )
    stds = [r.seeded.summary[metric].std or 0.0 for r in rows]  # type: ignore[union-attr]
    out |= {
        "n_schemes": str(len(rows)),
        "best_scheme": scheme_label(best.scheme),
        "best_scheme_value": pm(metric, best.seeded.summary[metric]),  # type: ignore[union-attr]
        "worst_scheme": scheme_label(worst.scheme),
        "worst_scheme_value": pm(metric, worst.seeded.summary[metric]),  # type: ignore[union-attr]
        "seed_std_max": value(metric, max(stds)),
        "seed_std_min": value(metric, min(stds)),
    }
    if recipe is not None and recipe.seeded is not None:
        out["recipe_value"] = pm(metric, recipe.seeded.summary[metric])
        lines = [
            f"| learning scheme | Δ {metric} ×100 [95% CI] | paired t p | |",
            "| --- | ---: | ---: | --- |",
        ]
        for r in rows:
            if r is not recipe and r.seeded is not None:
                mean, ci, p, verdict = seeded_diff(metric, r.seeded, recipe.seeded)
                lines.append(f"| {scheme_label(r.scheme)} | {mean} {ci} | {p} | {verdict} |")
        out["schemes_vs_recipe"] = "\n".join(lines)
        out["best_vs_recipe"] = (
            "BERT's recipe itself"
            if recipe is best
            else seeded_pair(metric, best.seeded, recipe.seeded)  # type: ignore[arg-type]
        )
    return out


def multitask_values(report: Report) -> dict[str, str]:
    """The per-task table over seeds, and PCGrad and the ensemble against the summed loss."""
    table = report.multitask
    if table is None:
        return {}
    out = {"tasks_table": markdown_table(multitask_rows(table))}
    rows = {r.row: r for r in table.rows}
    for r in table.rows:
        if r.seeded is None:
            continue
        for m, s in r.seeded.summary.items():
            out[f"{r.row}_{m.replace('/', '_')}"] = pm(m, s)
    base = rows["sum"].seeded
    for name in ("pcgrad", "ensemble"):
        other = rows[name].seeded
        if base is not None and other is not None:
            out[f"{name}_vs_sum"] = seeded_pair(table.metric, other, base)
    return out


def spec_values(files: Sequence[str]) -> dict[str, str]:
    """The settings the pages quote, from the study files the tool read: the first file's
    data sizes, epochs, layers and pruner, and each file's trial budget by its optimizer."""
    from hpsearch.spec.load import load_spec

    specs = [load_spec(f) for f in files]
    first = specs[0]
    tasks = first.tasks or (first.task,)
    out = {
        # "all": a task that trains on every example of its training file
        "train_pairs": " / ".join(
            f"{t.max_train_samples:,}" if t.max_train_samples else "all" for t in tasks
        ),
        "eval_pairs": " / ".join(f"{t.max_eval_samples:,}" for t in tasks if t.max_eval_samples),
        "epochs": str(first.train.epochs),
        "layers": str(first.model.num_hidden_layers or "all"),
        "n_trials": str(first.study.n_trials),
        "pruner": f"{first.study.pruner.name} pruner",
    }
    for spec in specs:
        out[f"{spec.optimizer.kind}_n_trials"] = str(spec.study.n_trials)
    return out


def page_values(folder: Path, case: Case) -> dict[str, str]:
    results = RESULTS / case.results
    data = json.loads((results / f"{case.kind}.json").read_text(encoding="utf-8"))
    out = run_values(folder, case)
    if case.kind == "compare":
        doc = CompareReport.from_dict(data)
        return out | spec_values(doc.study_files) | comparison_values(doc.comparison)
    report = Report.from_dict(data)
    out |= spec_values([report.study_file])
    seeds = report.comparison.seeds
    out |= {"seeds": str(len(seeds)), "seed_list": ", ".join(map(str, seeds))}
    out |= comparison_values(report.comparison) if len(report.comparison.arms) > 1 else {}
    return out | scheme_values(report) | multitask_values(report)


# --- writing ---------------------------------------------------------------------------------


def tool_markdown(text: str, slug: str) -> str:
    """The tool's markdown one heading level down, its plots linked in the page's folder."""
    text = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.MULTILINE)
    return re.sub(r"!\[([^\]]*)\]\(([^)/]+\.png)\)", rf"![\1]({slug}/\2)", text)


def write_page(folder: Path, case: Case) -> tuple[Path, str]:
    results = RESULTS / case.results
    if not (results / f"{case.kind}.json").is_file():
        raise SystemExit(
            f"case_study_pages.py: {results / (case.kind + '.json')} is missing: run "
            f"`bash scripts/case_studies.sh {case.key}` first"
        )
    values = page_values(folder, case)
    template = (TEMPLATES / f"{case.key}.md").read_text(encoding="utf-8")
    try:
        page = template.format_map(values)
    except KeyError as e:
        raise SystemExit(
            f"case_study_pages.py: {TEMPLATES / (case.key + '.md')} names {e}, which the "
            f"tool's files did not give; known: {', '.join(sorted(values))}"
        ) from None
    summary, page = split_summary(page, case)
    files = PAGES / case.slug
    shutil.rmtree(files, ignore_errors=True)
    files.mkdir(parents=True)
    for path in sorted(results.iterdir()):
        if path.suffix == ".png" and path.stat().st_size > MAX_PLOT_BYTES:
            raise SystemExit(f"case_study_pages.py: {path} is over 200 KB")
        if path.suffix in (".md", ".json", ".csv", ".png"):
            shutil.copy2(path, files / path.name)
    (files / "times.tsv").write_text(
        (folder / f"{case.key}-times.tsv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    tool = (results / f"{case.kind}.md").read_text(encoding="utf-8")
    out = PAGES / f"{case.slug}.md"
    out.write_text(
        page.rstrip()
        + f"\n\n## What `hpsearch {case.kind}` wrote\n\n"
        + f"Its {case.kind}.md as written, one heading level down; its CSV and JSON are in "
        + f"[`{case.slug}/`]({case.slug}/).\n\n"
        + tool_markdown(tool, case.slug),
        encoding="utf-8",
    )
    return out, summary


SUMMARY = re.compile(r"\A<!-- summary: (.*?) -->\n", re.DOTALL)
README_BLOCK = re.compile(
    r"(<!-- case studies: written by scripts/case_study_pages.py -->\n).*?(<!-- /case studies -->)",
    re.DOTALL,
)


def split_summary(page: str, case: Case) -> tuple[str, str]:
    """The one-line result a template starts with (``<!-- summary: ... -->``), and the page
    without it."""
    found = SUMMARY.match(page)
    if found is None:
        raise SystemExit(f"case_study_pages.py: {case.key}.md must start with <!-- summary: -->")
    return " ".join(found.group(1).split()), page[found.end() :].lstrip()


SUITE_PAGE = "- [The M-FAC cards' offline tasks as one workload suite](suite.md): "
SUITE_SUMMARY = Path("results") / "cards-offline" / "summary.json"  # under PAGES


def suite_line(summary: Path) -> str:
    """The index's line for the suite page (written by hand over `hpsearch compare
    suite.toml`), its result read from the suite's ``summary.json``: each arm against the
    baseline where its Holm-corrected p is below 5% and its CI excludes 0, the workloads
    where no difference was shown or an arm never learned, and the AlgoPerf score on seconds
    to the target."""
    what = (
        "Quora, SST-2 and STS-B on MiniLM at 2 and 4 layers, AdamW against M-FAC in "
        "calibrated ranges, equal training seconds, 10 paired seeds, Holm across workloads"
    )
    rerender = "(`hpsearch compare docs/case-studies/suite.toml --no-train` re-renders it)"
    if not summary.exists():
        return f"{SUITE_PAGE}{what}; {rerender}."
    data = from_dict(SuiteSummary, json.loads(summary.read_text(encoding="utf-8")), str(summary))
    shown, none, unlearned = [], [], []
    for w in data.workloads:
        for arm in w.arms:
            if arm.baseline:
                continue
            low, high, p = arm.ci_low, arm.ci_high, arm.p_holm
            if arm.no_verdict:  # an arm that never learned: no test was made
                unlearned.append(w.name)
            elif significant(p, low, high):
                assert arm.delta is not None  # a verdict has its difference
                better = (arm.delta > 0) == (w.direction == "maximize")
                shown.append(
                    f"{arm.arm} {'better' if better else 'worse'} than {w.baseline} on "
                    f"{w.name} ({w.metric} Δ {signed(w.metric, arm.delta)} "
                    f"[{value(w.metric, low)}, {value(w.metric, high)}], Holm p {p_text(p)})"
                )
            else:
                none.append(w.name)
    verdicts = "; ".join(shown) if shown else "no difference shown after Holm"
    if shown and none:
        verdicts += f"; no difference shown on {', '.join(dict.fromkeys(none))}"
    if unlearned:
        verdicts += f"; no verdict (an arm never learned) on {', '.join(dict.fromkeys(unlearned))}"
    seconds = next((pr for pr in data.profiles if pr.basis == "seconds"), None)
    score = (
        "; AlgoPerf score on seconds to the target "
        + ", ".join(f"{a.arm} {a.score:.3f}" for a in seconds.arms)
        if seconds
        else ""
    )
    n = len(data.workloads)
    return f"{SUITE_PAGE}{what}. Over {n} workloads: {verdicts}{score} {rerender}."


def write_index(summaries: dict[str, str]) -> None:
    """docs/case-studies/README.md and the README's block: a line per page with its result.
    A page not rewritten in this call keeps the line it had."""
    lines = {}
    index = PAGES / "README.md"
    if index.exists():
        for line in index.read_text(encoding="utf-8").splitlines():
            if line.startswith("- ["):
                lines[line.split("](", 1)[1].split(")", 1)[0]] = line
    for key, summary in summaries.items():
        slug = CASES[key].slug
        lines[f"{slug}.md"] = f"- [{TITLES[key]}]({slug}.md): {summary}"
    ordered = [lines[f"{c.slug}.md"] for c in CASES.values() if f"{c.slug}.md" in lines]
    if (PAGES / "suite.md").exists():  # written by hand over `hpsearch compare suite.toml`
        ordered.append(suite_line(PAGES / SUITE_SUMMARY))
    index.write_text(
        "# Case studies\n\n"
        "Three experiments from papers and model cards, run by hpsearch on real data: tuned, "
        "on equal budgets, over seeds, with their cost. Each page gives the question, the "
        "exact commands, the tool's own tables and plots, the wall time and the reading. "
        "`bash scripts/case_studies.sh` reruns them; `python3 scripts/case_study_pages.py "
        "pages DIR` rewrites the pages from what the tool wrote.\n\n" + "\n".join(ordered) + "\n",
        encoding="utf-8",
    )
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = "\n".join(line.replace("](", "](docs/case-studies/", 1) for line in ordered)
    new, n = README_BLOCK.subn(lambda m: m.group(1) + block + "\n" + m.group(2), text)
    if n != 1:
        raise SystemExit("case_study_pages.py: README.md has no case-studies block to fill")
    readme.write_text(new, encoding="utf-8")


TITLES = {
    "quora": "M-FAC against AdamW on Quora, both tuned",
    "sst2": "The finetuning survey's learning schemes on SST-2",
    "multitask": "MinBERT multitask: summed loss, PCGrad, ensembles",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["machine", "pages"])
    parser.add_argument("folder", type=Path, help="case_studies.sh's CASE_DIR")
    parser.add_argument("cases", nargs="*", help=f"of {', '.join(CASES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"a case is one of {', '.join(CASES)}, but got {', '.join(unknown)}")
    if args.what == "machine":
        record_machine(args.folder)
        return
    summaries = {}
    for key in args.cases or list(CASES):
        page, summaries[key] = write_page(args.folder, CASES[key])
        print(page)
    write_index(summaries)


if __name__ == "__main__":
    sys.exit(main())
