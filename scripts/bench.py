"""The benchmarks' harness: common arguments, a machine record, fresh processes, one JSON
layout and verdicts. Every ``scripts/bench_*.py`` uses it; a result file reads::

    {"benchmark": "bench_trainer", "created": "2026-12-01T10:00:00+00:00",
     "machine": {...},   # Machine.record(): versions, CPU, load, measured limits
     "args": {...},      # the command line, parsed
     "setup": {...},     # what the benchmark derived from it (sizes, reference values)
     "results": [...],   # one entry per measured thing
     "verdicts": [{"name", "value", "target", "unit", "higher_is_better", "met"}]}
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUSY_SHARE = 0.1  # other processes above this share of the CPUs: timings not reliable
PACKAGES = ("torch", "optuna", "transformers", "numpy")


def add_common_args(
    parser: argparse.ArgumentParser,
    precisions: Sequence[str] = (),
    default: str | list[str] | None = None,
    many: bool = False,
    threads: bool = True,
) -> None:
    """``--json``, and ``--threads`` and ``--precision`` (one of ``precisions``, or several
    with ``many``) where the benchmark has them."""
    parser.add_argument("--json", type=Path, help="also write the results here (scripts/bench.py)")
    if threads:
        parser.add_argument("--threads", type=int, help="torch threads per measurement (>= 1)")
    if precisions:
        parser.add_argument(
            "--precision", choices=precisions, nargs="+" if many else None, default=default
        )


# --------------------------------------------------------------------------- processes


def fresh(fn: Callable[..., Any], /, *args: Any, threads: int | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a new Python process, spawned and gone after it, on
    ``threads`` torch threads: no measurement inherits another's malloc setting (the trainer
    keeps freed memory), thread pools, caches or compiled code. Raises what ``fn`` raises;
    ``BrokenProcessPool`` when the process dies (killed for memory)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=_threads, initargs=(threads,)) as p:
        return p.submit(fn, *args, **kwargs).result()


def _threads(threads: int | None) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def child_env(threads: int | None = None) -> dict[str, str]:
    """This environment for a command (``python -m hpsearch ...``) that must run the
    checkout's hpsearch, whatever is installed: the checkout first on PYTHONPATH; with
    ``threads``, OMP_NUM_THREADS (torch's threads there)."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    extra = {} if threads is None else {"OMP_NUM_THREADS": str(threads)}
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


# --------------------------------------------------------------------------- the machine


def elapsed(fn: Callable[[], Any], device: Any) -> float:
    """Seconds that ``fn()`` takes, its device work included (CUDA runs asynchronously)."""
    import torch

    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def best_time(fn: Callable[[], Any], repeats: int, device: Any) -> float:
    fn()  # warm-up
    return min(elapsed(fn, device) for _ in range(repeats))


def bandwidth(nbytes: int, repeats: int, device: Any) -> dict[str, float]:
    """Memory bandwidth in bytes/s, three ways over ``nbytes`` of float32: a sum (bytes
    read), a copy (read + written) and a matrix-vector product (read)."""
    import torch

    x = torch.empty(nbytes // 4, device=device).uniform_()
    y, rows = torch.empty_like(x), 64
    ones, out = torch.ones(x.numel() // rows, device=device), torch.empty(rows, device=device)
    return {
        "sum": nbytes / best_time(x.sum, repeats, device),
        "copy": 2 * nbytes / best_time(lambda: y.copy_(x), repeats, device),
        "matvec": nbytes
        / best_time(lambda: torch.mv(x.view(rows, -1), ones, out=out), repeats, device),
    }


def limits(device: str, precisions: Sequence[str]) -> dict[str, Any]:
    """What this machine does at best here: GEMM FLOP/s at each precision (a square
    product, the fastest of 3) and memory bandwidth; torch's threads, the GPU's name."""
    import torch

    cuda = torch.device(device).type == "cuda"
    n = 8192 if cuda else 1024  # 1.1 TFLOP, 2.1 GFLOP: milliseconds either way
    gemm = {}
    for name in precisions:
        if name == "auto":  # what hpsearch's train.precision = "auto" resolves to here
            from hpsearch.train.trainer import precision_name, resolve_precision

            name = precision_name(resolve_precision("auto", torch.device(device)))
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
        a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
        gemm[name] = 2 * n**3 / best_time(lambda a=a, b=b: a @ b, 3, device)
    return {
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(device) if cuda else None,
        "gemm_flops": gemm,
        "memory_bandwidth": bandwidth(2**30 if cuda else 2**28, 3, device),
    }


class OtherLoad:
    """CPU time that other processes used from now on, as a share of all CPUs: the
    machine's busy time (/proc/stat) less this process's and its reaped children's."""

    def __init__(self) -> None:
        import psutil

        self._psutil, self._me = psutil, psutil.Process()
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float]:
        total, mine = self._psutil.cpu_times(), self._me.cpu_times()
        busy = sum(total) - total.idle - getattr(total, "iowait", 0.0)
        own = mine.user + mine.system + mine.children_user + mine.children_system
        return time.monotonic(), busy, own

    def share(self) -> float:
        (t0, busy0, own0), (t1, busy1, own1) = self._start, self._snapshot()
        return max(0.0, (busy1 - busy0) - (own1 - own0)) / ((t1 - t0) * (os.cpu_count() or 1))


class Machine:
    """The machine record (lm-eval-harness's ``add_env_info``): begun before the
    measurements (load, CPU counters, the limits measured in a fresh process), completed
    by :meth:`record` after them."""

    def __init__(
        self, device: str = "cpu", precisions: Sequence[str] = ("fp32",), threads: int | None = None
    ) -> None:
        sys.stdout.reconfigure(line_buffering=True)  # progress shows as it comes, in a log too
        self.device, self.load_before, self.started = device, os.getloadavg(), time.monotonic()
        self.limits = fresh(limits, device, list(precisions), threads=threads)
        self.other = OtherLoad()
        gemm = ", ".join(f"{p} {f / 1e9:,.0f}" for p, f in self.limits["gemm_flops"].items())
        copy = self.limits["memory_bandwidth"]["copy"] / 1e9
        print(
            f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {self.limits['gpu'] or device}; "
            f"GEMM GFLOP/s {gemm}; copy {copy:.1f} GB/s; load {self.load_before[0]:.2f}"
        )

    def record(self) -> dict[str, Any]:
        share, load_after = self.other.share(), os.getloadavg()
        print(
            f"machine: load average {self.load_before[0]:.2f} before, {load_after[0]:.2f} "
            f"after; other processes used {share:.0%} of the CPUs"
        )
        return {
            "python": platform.python_version(),
            **{name: _version(name) for name in PACKAGES},
            "hpsearch": _hpsearch(),
            "platform": platform.platform(),
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "device": self.device,
            **self.limits,
            "load_average_before": self.load_before,
            "load_average_after": load_after,
            "other_cpu_share": share,
            "seconds": time.monotonic() - self.started,
        }


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    return names[0] if names else platform.processor()


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _hpsearch() -> dict[str, str | None]:
    """Where ``hpsearch`` imports from (another install than the checkout's shows here), and
    the checkout's commit."""
    spec = importlib.util.find_spec("hpsearch")
    git = ["git", "-C", str(REPO), "describe", "--always", "--dirty"]
    done = subprocess.run(git, capture_output=True, text=True, check=False)
    path = str(Path(spec.origin).parent) if spec and spec.origin else None
    return {"path": path, "commit": done.stdout.strip() or None}


# --------------------------------------------------------------------------- verdicts, JSON


def verdict(name: str, value: float | None, target: float, unit: str = "", higher=True) -> dict:
    """One target, judged and printed (``target NAME: >= 2.5x: met (3.92x)``); a value of
    None is a target not measured (``met`` None)."""
    met = None if value is None else (value >= target if higher else value <= target)
    shown = "not run" if met is None else f"{'met' if met else 'MISSED'} ({value:.3g}{unit})"
    print(f"target {name}: {'>=' if higher else '<='} {target:g}{unit}: {shown}")
    return dict(name=name, value=value, target=target, unit=unit, higher_is_better=higher, met=met)


def save(
    path: Path | None,
    benchmark: str,
    args: argparse.Namespace,
    machine: dict[str, Any],
    results: list | dict[str, dict],
    verdicts: list[dict],
    setup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run in the one layout (the module docstring); written to ``path`` unless None.
    ``results`` by name is a list of them, each with its ``name``."""
    if isinstance(results, dict):
        results = [{"name": name, **entry} for name, entry in results.items()]
    report = {
        "benchmark": benchmark,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "args": vars(args),
        "setup": setup or {},
        "results": results,
        "verdicts": verdicts,
    }
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return report
