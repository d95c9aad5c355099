"""Benchmark M-FAC's step, dense and row-sparse, against torch AdamW on minilm with 2 layers.

Usage:
    python scripts/bench_mfac.py                  # m in {64, 256, 512, 1024}, both layouts
    python scripts/bench_mfac.py --m 16 64 --layouts dense --steps 20 --json bench.json
    python scripts/bench_mfac.py --device cuda --m 256 1024 --no-adamw   # on a GPU

On CPU (the default) as described below. With ``--device cuda`` the parameters, gradients,
buffer and bandwidth tensors live on the GPU; every timed region synchronizes the device
before and after (CUDA runs asynchronously); the free memory is the GPU's
(``torch.cuda.mem_get_info``); and the peak is the optimizer's own peak of allocated device
memory (``torch.cuda.max_memory_allocated`` after a reset, minus what was allocated before).
``scripts/gpu_check.sh`` runs it so on the GPU machine.

What is measured, and how:
- The parameters are the real trainable parameters of all-MiniLM-L6-v2 cut to 2 layers with a
  2-label head (d ≈ 15.6M), in the trainer's two groups (weight decay 0.01 on matrices, 0 on
  biases and norms). Gradients are synthetic: refilled with random numbers before every step,
  outside the timed region (a step's inputs come from memory, as after a backward pass). The
  word embedding's gradient is random on the rows of a real batch's tokens and zero
  elsewhere, as after a backward pass: batches of 32 Quora pairs at max length 128 from the
  shared data, drawn as the trainer draws them (length-grouped).
- Two layouts of M-FAC's gradient buffer: ``dense`` (every gradient whole) and ``rows`` (the
  word embedding's gradient as its touched rows, at most the trainer's bound from the data,
  the rest dense; ``layout="auto"``). Buffer bytes come from ``mfac_buffer_bytes``; a
  configuration that does not fit in memory (with ``--headroom-gib`` to spare, since the
  machine is shared) reports its bytes and is not run.
- The lower bound of a dense M-FAC step is two reads of the gradient buffer G (m·d numbers) at
  the machine's memory bandwidth; a row-sparse step is held to two reads of its own buffer's
  bytes (its rows and their indices), at the same bandwidth. The bandwidth is measured with
  torch on the same threads, in its own subprocess right before and right after each
  configuration (the machine may be shared): a sum (bytes read), a copy (bytes read + written)
  and a matrix-vector product (bytes read) over a 1 GiB tensor, the fastest of several
  repeats, the best over all runs. After every timed M-FAC step, a sum over G itself is timed
  too (the same memory, at the same moment). ``bound`` uses the best copy/sum bandwidth of all
  of these; ``strict`` uses the highest bandwidth seen at all, often the matrix-vector
  product's, i.e. the smallest bound: its ratio is the overhead beyond the BLAS kernels
  themselves. ``paired`` is the median over steps of (step time) / (2 x the sum over G right
  after it), which holds up best when other processes come and go during the run.
- The machine's load average is recorded around every configuration: timings on a shared
  machine are only meaningful when nothing else runs.
- Before timing, every slot of G is filled (random numbers, and the matching Gram diagonal), so
  the timed steps are steady-state steps over a full buffer, with no first-touch page faults.
- Peak memory: each configuration runs in a fresh subprocess. After the model and its
  gradients are in memory, the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``);
  the reported peak is the peak RSS during optimizer construction and all steps minus the
  RSS just before, so it is the optimizer's own peak (buffer, state and temporaries).
- Configurations run one at a time, so a 16 GB buffer (m = 256) is freed before the next.
- The second table sets the layouts side by side per m: buffer bytes, median step and peak
  memory, and the ratios dense / row-sparse. The step ratio compares runs made at different
  moments; ``paired`` divides each step by a fixed 256 MiB read timed right after it first,
  so that load which differs between the two runs cancels out.
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
from quora_studies import data_folder, quora_spec

GIB = 2**30
RESULT_MARKER = "BENCH_RESULT "
WEIGHT_DECAY = 0.01  # the same decoupled decay for both optimizers
LR = 1e-5  # irrelevant for timing; small so that parameters stay finite
BATCH_SIZE = 32  # the model cards' batch of QQP pairs
MAX_LENGTH = 128  # and their max length
PROBE_BYTES = 256 * 2**20  # the fixed read timed after every M-FAC step (load yardstick)
# The target: a dense float32 M-FAC step within this factor of two reads of G (paired ratio)
# at these m, on CPU.
TARGET_PAIRED = 1.3
TARGET_M = (64, 256)


# --------------------------------------------------------------------------- workers


def _minilm_2_layers() -> torch.nn.Module:
    import transformers

    from hpsearch.data.pretrained import resolve_model

    transformers.logging.set_verbosity_error()
    folder = resolve_model("minilm")  # the offline package's model folder
    return transformers.AutoModelForSequenceClassification.from_pretrained(
        folder, num_hidden_layers=2, num_labels=2
    )


def _token_rows(data_dir: Path, batches: int) -> tuple[list[torch.Tensor], int]:
    """Distinct token ids of ``batches`` real training batches, and the trainer's row bound."""
    from hpsearch.data.batches import max_tokens_per_batch, train_batches
    from hpsearch.data.encode import DataCache

    # Every training pair: a subset of more pairs than the file has is all of them.
    every_row = "task.max_train_samples=1000000000"
    spec = quora_spec("adamw", [f"task.max_length={MAX_LENGTH}", every_row], data_dir)
    split = DataCache().encoded(spec).train
    rows: list[torch.Tensor] = []
    epoch = 0
    while len(rows) < batches:  # as many epochs as needed, each in a new order
        order = train_batches(split, BATCH_SIZE, torch.Generator().manual_seed(epoch), True)
        for batch in order:
            ids = [split.ids[split.offsets[r] : split.offsets[r + 1]] for r in batch.tolist()]
            rows.append(torch.unique(torch.cat(ids)))
        epoch += 1
    return rows[:batches], max_tokens_per_batch(split, BATCH_SIZE)


def _refill_grads(
    params: list[torch.Tensor], embedding: torch.Tensor, rows: torch.Tensor, previous: torch.Tensor
) -> None:
    """New random gradients; the embedding's only on ``rows`` (``previous`` rows are zeroed)."""
    with torch.no_grad():
        for p in params:
            if p is embedding:
                p.grad[previous] = 0.0
                p.grad[rows] = torch.empty(len(rows), p.shape[1], device=p.device).normal_(
                    0.0, 1e-3
                )
            else:
                p.grad.normal_(0.0, 1e-3)


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


def _elapsed(fn, device: torch.device) -> float:
    """Seconds that ``fn()`` takes, its device work included (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _best_time(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    return min(_elapsed(fn, device) for _ in range(repeats))


def worker_bandwidth(nbytes: int, repeats: int, device: torch.device) -> dict:
    """Memory bandwidth in bytes/s, three ways, on torch's current threads (or the GPU)."""
    n = nbytes // 4
    x = torch.empty(n, device=device).uniform_()
    y = torch.empty_like(x)
    rows = 64
    ones = torch.ones(n // rows, device=device)
    out = torch.empty(rows, device=device)
    read_sum = nbytes / _best_time(lambda: x.sum(), repeats, device)
    copy = 2 * nbytes / _best_time(lambda: y.copy_(x), repeats, device)  # read + write bytes
    matvec = nbytes / _best_time(lambda: torch.mv(x.view(rows, -1), ones, out=out), repeats, device)
    return {"sum": read_sum, "copy": copy, "matvec": matvec}


def worker_step(
    kind: str,
    m: int,
    steps: int,
    warmup: int,
    buffer_dtype: str,
    layout: str,
    data_dir: Path,
    headroom: int,
    device: torch.device,
) -> dict:
    """Time ``steps`` optimizer steps on minilm-2-layer params; peak memory of the optimizer."""
    torch.manual_seed(0)
    model = _minilm_2_layers().to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    embedding = model.get_input_embeddings().weight
    d = sum(p.numel() for p in params)
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # Token rows of enough real batches to fill every slot and run every step.
    batch_rows, max_rows = _token_rows(data_dir, (m if kind == "mfac" else 0) + warmup + steps)
    with torch.no_grad():
        for p in params:
            # Write every parameter once: freshly loaded weights may still be lazily mapped
            # pages, whose first write would otherwise count as the optimizer's memory.
            p.mul_(1.0)
            p.grad = torch.zeros_like(p)  # as after a backward pass
    # The yardstick: the same read in every configuration, timed right after each step.
    probe = torch.empty(PROBE_BYTES // 4, device=device).uniform_() if kind == "mfac" else None
    gc.collect()

    load_before = os.getloadavg()[0]
    peak_reset = _reset_peak_rss()
    rss_before = _proc_status()["VmRSS"]
    cuda = device.type == "cuda"
    if cuda:  # the optimizer's own peak: allocated device memory from here on
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        allocated_before = torch.cuda.memory_allocated(device)
    result = {"kind": kind, "m": m, "d": d, "threads": torch.get_num_threads()}
    result["device"] = torch.cuda.get_device_name(device) if cuda else "cpu"
    previous = batch_rows[0][:0]

    if kind == "mfac":
        from hpsearch.errors import InsufficientMemoryError
        from hpsearch.optim.mfac import MFAC, mfac_buffer_bytes

        row_sparse = {embedding: max_rows} if layout == "rows" else {}
        result.update(
            layout=layout,
            max_rows=max_rows,
            buffer_dtype=buffer_dtype,
            buffer_bytes=mfac_buffer_bytes(
                d, m, buffer_dtype, row_sparse=[(embedding.shape, r) for r in row_sparse.values()]
            ),
        )
        # The optimizer refuses a buffer that does not fit (before allocating); one that
        # fits but would leave less than the headroom free is not run (a shared machine).
        available = (
            torch.cuda.mem_get_info(device)[0] if cuda else psutil.virtual_memory().available
        )
        if result["buffer_bytes"] <= available < result["buffer_bytes"] + headroom:
            return {
                **result,
                "error": f"not run: needs {result['buffer_bytes'] / GIB:.2f} GiB + "
                f"{headroom / GIB:.0f} GiB headroom, {available / GIB:.2f} GiB available",
            }
        try:
            opt = MFAC(
                groups,
                lr=LR,
                num_grads=m,
                damp=1e-6,
                buffer_dtype=buffer_dtype,
                row_sparse=row_sparse,
            )
        except InsufficientMemoryError as err:
            return {
                **result,
                "error": f"does not fit: needs {err.needed / GIB:.2f} GiB, "
                f"{err.available / GIB:.2f} GiB available",
                "error_message": str(err),
            }
        # Steady state: every slot holds a gradient (this also commits the buffer's pages),
        # and the Gram diagonal matches. For random d-dimensional rows the off-diagonal inner
        # products are ~1/sqrt(d) of the diagonal, so K stays positive definite and the
        # Cholesky factorization does its full work, as in training.
        for j in range(m):
            _refill_grads(params, embedding, batch_rows[j], previous)
            previous = batch_rows[j]
            opt._buffer.write(j, [p.grad for p in opt._params])  # in the optimizer's order
            opt._gram[j, j] = sum(float(p.grad.double().square().sum()) for p in params)
        batch_rows = batch_rows[m:]
        result["rows_per_batch_mean"] = statistics.mean(len(r) for r in batch_rows)
    elif kind == "adamw":
        opt = torch.optim.AdamW(groups, lr=LR)  # torch's default implementation
    elif kind == "adamw-fused":
        opt = torch.optim.AdamW(groups, lr=LR, fused=True)  # what the registry builds
    else:
        raise ValueError(f"unknown kind {kind!r}")

    times, g_reads, probes = [], [], []
    dense_g = getattr(opt, "_buffer", None) is not None and hasattr(opt._buffer, "G")
    rss_high = _proc_status()["VmRSS"]
    for i in range(warmup + steps):
        _refill_grads(params, embedding, batch_rows[i], previous)  # outside the timed region
        previous = batch_rows[i]
        elapsed = _elapsed(opt.step, device)
        if i >= warmup:
            times.append(elapsed)
            if probe is not None:
                probes.append(_elapsed(probe.sum, device))
            if dense_g:
                # The read bandwidth on G itself, in the same moment: one sum over G.
                g_reads.append(_elapsed(opt._buffer.G.sum, device))
        rss_high = max(rss_high, _proc_status()["VmRSS"])

    if cuda:
        peak = torch.cuda.max_memory_allocated(device) - allocated_before
        peak_method = "torch.cuda.max_memory_allocated after a reset"
    else:
        # Without clear_refs, fall back to the sampled high-water mark (misses temporaries).
        peak = (_proc_status()["VmHWM"] if peak_reset else rss_high) - rss_before
        peak_method = "VmHWM after clear_refs" if peak_reset else "sampled RSS"
    result.update(
        step_times=times,
        step_median=statistics.median(times),
        step_min=min(times),
        peak_bytes=peak,
        peak_method=peak_method,
        rss_before=rss_before,
        process_peak_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )
    if kind == "mfac":
        result["buffer_nbytes"] = opt.buffer_nbytes  # allocated: equals the estimate
        result["probe_times"] = probes
        # Each step against the fixed read right after it: comparable across configurations
        # run at different moments of a shared machine's load.
        result["step_per_probe"] = statistics.median(
            t / p for t, p in zip(times, probes, strict=True)
        )
        if dense_g:
            result["g_read_times"] = g_reads
            result["g_read_bandwidth"] = result["buffer_bytes"] / min(g_reads)
            # Robust to load that drifts during the run: each step against the sum after it.
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


def _bandwidth(threads: int, nbytes: int, repeats: int, device: str) -> dict:
    return _run_worker(
        [
            "--worker",
            "bandwidth",
            "--bw-bytes",
            str(nbytes),
            "--bw-repeats",
            str(repeats),
            "--device",
            device,
        ],
        threads,
    )


def _label(r: dict) -> str:
    if r.get("kind") != "mfac":
        return r.get("kind", "?")
    layout = "row-sparse" if r.get("layout") == "rows" else "dense"
    return f"mfac {layout} {r.get('buffer_dtype', '')}"


def _table(report: dict):
    from rich.table import Table

    table = Table(
        title=(
            f"M-FAC vs AdamW step on minilm-2-layer (d = {report['d']:,}), "
            f"{report['device_name']}, {report['threads']} threads. bound = 2 reads of the "
            f"buffer at the copy/sum bandwidth {report['bandwidth'] / 1e9:.1f} GB/s; strict = "
            f"at the best bandwidth {report['bandwidth_strict'] / 1e9:.1f} GB/s; paired = "
            "median over steps of step / (2 x a sum over G timed right after it; dense); "
            "peak mem = the optimizer's peak "
            + ("device memory" if report["device"] == "cuda" else "RSS")
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
        mfac = r.get("kind") == "mfac"
        if "error" in r:
            size = f"{r['buffer_bytes'] / GIB:.2f} GiB" if "buffer_bytes" in r else ""
            table.add_row(_label(r), str(r.get("m", "")), size, f"error: {r['error']}")
            continue
        bounded = "bound" in r
        table.add_row(
            _label(r),
            str(r["m"]) if mfac else "-",
            f"{r['buffer_bytes'] / GIB:.2f} GiB" if mfac else "-",
            f"{r['step_median'] * 1e3:.1f} ms",
            f"{r['step_min'] * 1e3:.1f} ms",
            f"{r['bound'] * 1e3:.1f} ms" if bounded else "-",
            f"{r['ratio_median']:.2f}x" if bounded else "-",
            f"{r['ratio_min']:.2f}x" if bounded else "-",
            f"{r['ratio_strict']:.2f}x" if bounded else "-",
            f"{r['ratio_paired']:.2f}x" if "ratio_paired" in r else "-",
            f"{r['peak_bytes'] / GIB:.2f} GiB",
            f"{r['load_before']:.1f}/{r['load_after']:.1f}",
        )
    return table


def _layout_table(report: dict):
    """Dense against row-sparse M-FAC, one row per m: bytes, step and peak memory, and ratios."""
    from rich.table import Table

    by_m: dict[int, dict[str, dict]] = {}
    for r in report["results"]:
        if r.get("kind") == "mfac":
            by_m.setdefault(r["m"], {})[r["layout"]] = r
    rows = next((r for r in report["results"] if r.get("layout") == "rows"), None)
    table = Table(
        title=(
            "M-FAC gradient buffer: dense vs word embedding row-sparse (at most "
            f"{rows['max_rows'] if rows else '?'} rows: the trainer's bound for batches of "
            f"{BATCH_SIZE} Quora pairs at length {MAX_LENGTH}). ratio = dense / row-sparse; "
            f"paired = the ratio of median (step / a {PROBE_BYTES // 2**20} MiB read timed "
            "right after it), robust to load that differs between the runs; "
            "'-' = not run (does not fit)"
        )
    )
    for name in ["m", "buffer dense", "buffer rows", "ratio", "step dense", "step rows"]:
        table.add_column(name, justify="right")
    for name in ["ratio", "paired", "peak dense", "peak rows", "ratio", "load avg"]:
        table.add_column(name, justify="right")

    def get(r: dict | None, key: str, fmt) -> str:
        return fmt(r[key]) if r is not None and key in r and "error" not in r else "-"

    def ratio(a: dict | None, b: dict | None, key: str) -> str:
        ok = all(r is not None and key in r and "error" not in r for r in (a, b))
        return f"{a[key] / b[key]:.2f}x" if ok else "-"

    for m, layouts in sorted(by_m.items()):
        dense, sparse = layouts.get("dense"), layouts.get("rows")
        loads = [
            f"{r['load_before']:.1f}/{r['load_after']:.1f}"
            for r in (dense, sparse)
            if r is not None and "load_before" in r
        ]
        table.add_row(
            str(m),
            *(f"{r['buffer_bytes']:,}" if r else "-" for r in (dense, sparse)),
            f"{dense['buffer_bytes'] / sparse['buffer_bytes']:.2f}x" if dense and sparse else "-",
            get(dense, "step_median", lambda t: f"{t * 1e3:.0f} ms"),
            get(sparse, "step_median", lambda t: f"{t * 1e3:.0f} ms"),
            ratio(dense, sparse, "step_median"),
            ratio(dense, sparse, "step_per_probe"),
            get(dense, "peak_bytes", lambda b: f"{b / GIB:.2f} GiB"),
            get(sparse, "peak_bytes", lambda b: f"{b / GIB:.2f} GiB"),
            ratio(dense, sparse, "peak_bytes"),
            ", ".join(loads),
        )
    return table


def _targets(report: dict) -> list[dict]:
    """Whether each dense float32 step at ``TARGET_M`` is within ``TARGET_PAIRED`` x its bound."""
    lines = []
    for r in report["results"]:
        dense = r.get("kind") == "mfac" and r.get("layout") == "dense"
        if not (dense and r.get("m") in TARGET_M and r.get("buffer_dtype") == "float32"):
            continue
        if "ratio_paired" not in r:
            text = f"target: dense M-FAC m={r['m']} <= {TARGET_PAIRED}x bound (paired): not run"
            lines.append({"m": r["m"], "met": None, "text": text})
            continue
        met = r["ratio_paired"] <= TARGET_PAIRED
        text = (
            f"target: dense M-FAC m={r['m']} <= {TARGET_PAIRED}x bound (paired): "
            f"{r['ratio_paired']:.2f}x, {'met' if met else 'MISSED'} "
            f"(median/bound {r['ratio_median']:.2f}x)"
        )
        lines.append({"m": r["m"], "met": met, "ratio": r["ratio_paired"], "text": text})
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, nargs="+", default=[64, 256, 512, 1024], help="num_grads")
    parser.add_argument(
        "--layouts", nargs="+", default=["dense", "rows"], choices=["dense", "rows"]
    )
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--buffer-dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--no-adamw", action="store_true", help="skip the AdamW baselines")
    parser.add_argument("--data", type=Path, default=data_folder(), help="folder of quora-*.tsv")
    parser.add_argument(
        "--headroom-gib", type=float, default=2.0, help="memory to leave free (shared machine)"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--bw-bytes", type=int, default=GIB, help="bandwidth tensor size")
    parser.add_argument("--bw-repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run")
    parser.add_argument(
        "--worker", choices=["bandwidth", "mfac", "adamw", "adamw-fused"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available")
    device = torch.device(args.device)

    if args.worker == "bandwidth":
        bandwidth = worker_bandwidth(args.bw_bytes, args.bw_repeats, device)
        print(RESULT_MARKER + json.dumps(bandwidth))
        return
    if args.worker is not None:
        result = worker_step(
            args.worker,
            args.m[0],
            args.steps,
            args.warmup,
            args.buffer_dtype,
            args.layouts[0],
            args.data,
            int(args.headroom_gib * GIB),
            device,
        )
        print(RESULT_MARKER + json.dumps(result))
        return

    from rich.console import Console

    console = Console(stderr=True)
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--data", str(args.data)]
    common += ["--headroom-gib", str(args.headroom_gib), "--device", args.device]
    configs = [] if args.no_adamw else [("adamw", 0, ""), ("adamw-fused", 0, "")]
    configs += [("mfac", m, layout) for m in args.m for layout in args.layouts]
    results, bandwidths = [], []
    for kind, m, layout in configs:
        label = f"{kind} {layout} m={m}" if kind == "mfac" else kind
        console.print(f"bandwidth before {label} ...", markup=False)
        bandwidths.append(_bandwidth(args.threads, args.bw_bytes, args.bw_repeats, args.device))
        console.print(f"running {label} ...", markup=False)
        extra = ["--buffer-dtype", args.buffer_dtype, "--layouts", layout] if layout else []
        results.append(
            _run_worker(["--worker", kind, "--m", str(m), *common, *extra], args.threads)
        )
        if "error" in results[-1]:
            console.print(f"{label}: {results[-1]['error']}", markup=False)
    bandwidths.append(_bandwidth(args.threads, args.bw_bytes, args.bw_repeats, args.device))

    measured = [b for b in bandwidths if "error" not in b]
    if not measured:
        raise SystemExit(f"bandwidth measurement failed: {bandwidths}")
    g_reads = [r["g_read_bandwidth"] for r in results if "g_read_bandwidth" in r]
    bandwidth = max([max(b["sum"], b["copy"]) for b in measured] + g_reads)
    bandwidth_strict = max([max(b.values()) for b in measured] + g_reads)
    d = next((r["d"] for r in results if "d" in r), 0)
    for r in results:
        # The bandwidth bound: two reads of every byte of the buffer (dense or row-sparse).
        if r.get("kind") == "mfac" and "step_median" in r:
            r["bound"] = 2 * r["buffer_bytes"] / bandwidth
            r["bound_strict"] = 2 * r["buffer_bytes"] / bandwidth_strict
            r["ratio_median"] = r["step_median"] / r["bound"]
            r["ratio_min"] = r["step_min"] / r["bound"]
            r["ratio_strict"] = r["step_median"] / r["bound_strict"]
    report = {
        "d": d,
        "device": args.device,
        # The workers name the GPU (this process never initializes CUDA).
        "device_name": next((r["device"] for r in results if "device" in r), args.device),
        "torch": torch.__version__,
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
    if any(r.get("kind") == "mfac" for r in results):
        out.print(_layout_table(report))
    report["targets"] = _targets(report)
    for line in report["targets"]:
        out.print(line["text"], markup=False)
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
