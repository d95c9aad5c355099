"""How long the command line takes to start: ``hpsearch --help`` and ``hpsearch leaderboard``.

Usage:
    python scripts/bench_startup.py
    python scripts/bench_startup.py --runs 9 --json startup.json
    python scripts/bench_startup.py --realtime     # on a busy shared machine (Linux, root)

It times the checkout's hpsearch, whatever is installed (each command a subprocess with
the checkout first on PYTHONPATH), wall clock from start to exit, after one untimed run:
``python -m hpsearch --help`` (target 0.5 s) and ``python -m hpsearch leaderboard STUDY``
(target 1.0 s) on a tiny finished study (the quickstart's file, with a few trials written
into its SQLite storage, nothing trained), and the same through this interpreter's
``hpsearch`` console script, if installed. The table shows the median and the fastest
run, and the median CPU time; wall time grows with the machine's load, CPU time much less.
``--realtime`` runs each command under ``chrt -f 10`` (SCHED_FIFO), ahead of every ordinary
process. Then, per ``python -m`` command, the third-party packages whose imports cost the
most (from ``python -X importtime``) and the hpsearch modules that imported them.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import bench

REPO = bench.REPO
STUDY_FILE = REPO / "studies" / "quickstart.toml"
HELP_TARGET_S = 0.5
LEADERBOARD_TARGET_S = 1.0


@dataclass(frozen=True)
class PackageImport:
    name: str  # a top-level package: optuna, torch
    seconds: float  # cumulative, where entered from another package, summed
    importers: list[str]  # the innermost hpsearch modules it was imported under


@dataclass(frozen=True)
class ImportProfile:
    total_s: float  # every import of the process, cumulative
    hpsearch_s: float  # importing hpsearch's own modules, with what they import
    packages: list[PackageImport]  # third-party only, costliest first


@dataclass(frozen=True)
class Timing:
    name: str
    command: list[str]
    target_s: float
    wall_s: list[float]
    cpu_s: list[float]  # user + system time of each run
    median_s: float
    min_s: float
    met: bool
    imports: ImportProfile | None  # for ``python -m`` commands only


def write_study(folder: Path) -> Path:
    """The quickstart study file in ``folder``, with a finished study in its default storage
    (``sqlite:///<folder>/quickstart.db``): trials written directly, nothing trained."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.trial import TrialState, create_trial

    study_file = folder / STUDY_FILE.name
    shutil.copyfile(STUDY_FILE, study_file)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="quickstart",
        storage=f"sqlite:///{folder / 'quickstart.db'}",
        direction="maximize",
    )
    with warnings.catch_warnings():  # experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["f1"])
    distributions = {
        "train.lr": FloatDistribution(1e-4, 5e-3, log=True),
        "train.batch_size": CategoricalDistribution([16, 32]),
        "train.hidden_dropout": FloatDistribution(0.0, 0.2),
        "optimizer.kind": CategoricalDistribution(["adamw", "mfac"]),
    }
    for i in range(6):
        f1 = 0.6 + 0.03 * i
        metrics = {"accuracy": f1 + 0.05, "f1": f1, "mcc": f1 - 0.3, "loss": 0.7 - 0.05 * i}
        pruned = i % 3 == 2
        trial = create_trial(
            state=TrialState.PRUNED if pruned else TrialState.COMPLETE,
            value=None if pruned else f1,
            params={
                "train.lr": 1e-4 * (i + 1),
                "train.batch_size": (16, 32)[i % 2],
                "train.hidden_dropout": 0.1,
                "optimizer.kind": ("adamw", "mfac")[i % 2],
            },
            distributions=distributions,
            user_attrs={
                "metrics": metrics,
                "evals": [{"epoch": 1.0, "step": 10, "metrics": metrics}],
                "epochs_done": 1.0,
            },
            intermediate_values={1: f1},
        )
        study.add_trial(trial)
    return study_file


def run_once(command: list[str]) -> tuple[float, float, str]:
    """One run of ``command``: wall seconds, CPU seconds (user + system) and its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO, env=bench.child_env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr


def import_profile(command: list[str], top: int, prefix: list[str]) -> ImportProfile:
    """Where ``command`` spends its import time, from one run under ``python -X importtime``."""
    assert command[0] == sys.executable
    _, _, report = run_once([*prefix, sys.executable, "-X", "importtime", *command[1:]])
    total = ours = 0.0
    seconds: dict[str, float] = {}
    importers: dict[str, list[str]] = {}
    stack: list[str] = []  # the modules of the current branch, one per depth
    # importtime prints a module after the modules it imports (post-order); reversed, the
    # lines walk the tree from the top down, each module after its importer.
    for line in reversed(report.splitlines()):
        fields = line.split("|")
        if not line.startswith("import time:") or len(fields) != 3:
            continue
        _, cumulative, name = fields
        if not cumulative.strip().isdigit():
            continue  # the header line
        depth = (len(name) - len(name.lstrip())) // 2
        module = name.strip()
        package = module.split(".")[0]
        del stack[depth:]  # what is left: this module's importers, outermost first
        parent = stack[-1].split(".")[0] if stack else None
        cost = int(cumulative) / 1e6
        total += cost if depth == 0 else 0.0
        if package == parent:
            pass  # inside its package's time already
        elif package == "hpsearch":
            ours += cost
        elif package not in sys.stdlib_module_names and not package.startswith("_"):
            seconds[package] = seconds.get(package, 0.0) + cost
            inner = [m for m in stack if m.startswith("hpsearch.")]
            if inner and inner[-1] not in importers.setdefault(package, []):
                importers[package].append(inner[-1])
        stack.append(module)
    costliest = sorted(((n, s) for n, s in seconds.items() if s >= 0.001), key=lambda i: -i[1])
    packages = [PackageImport(name, s, importers.get(name, [])) for name, s in costliest[:top]]
    return ImportProfile(total, ours, packages)


def measure(
    name: str, command: list[str], target_s: float, runs: int, top: int, prefix: list[str]
) -> Timing:
    """Time ``command`` (run after ``prefix``: ``chrt ...`` or nothing) after a warm-up."""
    run_once([*prefix, *command])  # warm-up
    wall, cpu = zip(*(run_once([*prefix, *command])[:2] for _ in range(runs)), strict=True)
    median = statistics.median(wall)
    python = command[0] == sys.executable
    imports = import_profile(command, top, prefix) if python else None
    return Timing(
        name,
        command,
        target_s,
        list(wall),
        list(cpu),
        median,
        min(wall),
        median <= target_s,
        imports,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument("--top", type=int, default=10, help="packages listed per command")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run the commands at real-time priority (chrt -f 10; Linux, root), so that other "
        "processes on a shared machine do not slow them: close to a quiet machine's figures",
    )
    bench.add_common_args(parser, threads=False)
    args = parser.parse_args()
    prefix = ["chrt", "-f", "10"] if args.realtime else []
    if prefix and shutil.which("chrt") is None:
        parser.error("--realtime needs chrt (util-linux)")

    machine = bench.Machine()
    with tempfile.TemporaryDirectory(prefix="hpsearch-startup-") as tmp:
        study = str(write_study(Path(tmp)))
        python = [sys.executable, "-m", "hpsearch"]
        commands = [
            ("python -m hpsearch --help", [*python, "--help"], HELP_TARGET_S),
            (
                "python -m hpsearch leaderboard",
                [*python, "leaderboard", study],
                LEADERBOARD_TARGET_S,
            ),
        ]
        # This interpreter's own console script (not a pyenv shim, not another install's).
        script = shutil.which("hpsearch", path=sysconfig.get_path("scripts"))
        if script is not None:
            commands += [
                ("hpsearch --help", [script, "--help"], HELP_TARGET_S),
                ("hpsearch leaderboard", [script, "leaderboard", study], LEADERBOARD_TARGET_S),
            ]
        timings = [measure(n, c, t, args.runs, args.top, prefix) for n, c, t in commands]
    record = machine.record()

    print(
        f"hpsearch start-up in {REPO}: {args.runs} runs each after a warm-up"
        + (", commands at real-time priority" if prefix else "")
    )
    print(f"{'command':32} {'median':>8} {'min':>8} {'target':>8}  met  {'CPU':>7}")
    for t in timings:
        met = "yes" if t.met else "NO "
        cpu = statistics.median(t.cpu_s)
        print(
            f"{t.name:32} {t.median_s:7.3f}s {t.min_s:7.3f}s {t.target_s:7.1f}s  {met}  {cpu:6.3f}s"
        )
    for t in timings:
        if t.imports is None:
            continue
        profile = t.imports
        print(
            f"\n`{t.name}`: imports take {profile.total_s:.3f} s, hpsearch's "
            f"{profile.hpsearch_s:.3f} s; the costliest third-party packages:"
        )
        for package in profile.packages:
            via = ", ".join(package.importers[:3]) or "no hpsearch module (start-up, run time)"
            print(f"  {package.seconds:7.3f} s  {package.name:16} under {via}")
    print()
    verdicts = [
        bench.verdict(f"{t.name}, median wall", t.median_s, t.target_s, " s", higher=False)
        for t in timings
    ]
    results = [{**asdict(t), "name": t.name} for t in timings]
    bench.save(args.json, "bench_startup", args, record, results, verdicts)


if __name__ == "__main__":
    main()
