"""Benchmark M-FAC's step, dense and row-sparse, against torch AdamW on minilm with 2 layers.

Usage:
    python scripts/bench_mfac.py                  # m in {64, 256, 512, 1024}, both layouts
    python scripts/bench_mfac.py --m 16 64 --layouts dense --steps 20 --json bench.json
    python scripts/bench_mfac.py --device cuda --m 256 1024 --no-adamw   # on a GPU

Each configuration runs in a fresh process: minilm's real trainable parameters (d = 15.6M)
with synthetic gradients (the word embedding's on the rows of real Quora batches), M-FAC's
buffer filled first (steady state), then ``--steps`` timed steps and the optimizer's own
peak memory. A step is held to two reads of its buffer at the memory bandwidth, measured in
fresh processes around every configuration; ``paired`` divides each step by a sum over G
timed right after it, which holds up when the machine's load changes. The target: a dense
float32 step within 1.3x of its bound (paired) at m = 64 and 256, on CPU.
docs/development.md (Benchmarks) has how each figure is measured, and the latest ones.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import resource
import statistics
from pathlib import Path

import bench
import psutil
import torch
from quora_studies import add_data_args, quora_spec

GIB = 2**30
WEIGHT_DECAY = 0.01  # the same decoupled decay for both optimizers
LR = 1e-5  # irrelevant for timing; small so that parameters stay finite
BATCH_SIZE = 32  # the model cards' batch of QQP pairs
MAX_LENGTH = 128  # and their max length
PROBE_BYTES = 256 * 2**20  # the fixed read timed after every M-FAC step (load yardstick)
# The target: a dense float32 M-FAC step within this factor of two reads of G (paired ratio)
# at these m, on CPU.
TARGET_PAIRED = 1.3
TARGET_M = (64, 256)
BUFFER_DTYPES = {"fp32": "float32", "bf16": "bfloat16"}  # --precision: the buffer's dtype


# --------------------------------------------------------------------------- workers


def _minilm_2_layers() -> torch.nn.Module:
    import transformers

    from hpsearch.data.pretrained import resolve_model

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.getLogger("hpsearch").setLevel(logging.ERROR)  # rows dropped for a missing label
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


def worker_step(
    kind: str,
    m: int,
    steps: int,
    warmup: int,
    buffer_dtype: str,
    layout: str,
    data_dir: Path,
    headroom: int,
    device: str,
) -> dict:
    """Time ``steps`` optimizer steps on minilm-2-layer params; peak memory of the optimizer."""
    device = torch.device(device)
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
            opt.fill_slot(j)
        batch_rows = batch_rows[m:]
        result["rows_per_batch_mean"] = statistics.mean(len(r) for r in batch_rows)
    elif kind == "adamw":
        opt = torch.optim.AdamW(groups, lr=LR)  # torch's default implementation
    elif kind == "adamw-fused":
        opt = torch.optim.AdamW(groups, lr=LR, fused=True)  # what the registry builds
    else:
        raise ValueError(f"unknown kind {kind!r}")

    times, g_reads, probes = [], [], []
    g_buffer = getattr(opt, "dense_buffer", None)  # M-FAC's G, where it is one tensor
    rss_high = _proc_status()["VmRSS"]
    for i in range(warmup + steps):
        _refill_grads(params, embedding, batch_rows[i], previous)  # outside the timed region
        previous = batch_rows[i]
        elapsed = bench.elapsed(opt.step, device)
        if i >= warmup:
            times.append(elapsed)
            if probe is not None:
                probes.append(bench.elapsed(probe.sum, device))
            if g_buffer is not None:
                # The read bandwidth on G itself, in the same moment: one sum over G.
                g_reads.append(bench.elapsed(g_buffer.sum, device))
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
        if g_buffer is not None:
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


def _measure(fn, *args, threads: int | None) -> dict:
    """``fn(*args)`` in a fresh process; a process that fails or dies is an error entry."""
    try:
        return bench.fresh(fn, *args, threads=threads)
    except Exception as err:  # killed for memory, or a bug: the next configuration runs
        return {"error": f"{fn.__name__}{args[:3]} failed: {type(err).__name__}: {err}"}


def _label(r: dict) -> str:
    if r.get("kind") != "mfac":
        return r.get("kind", "?")
    layout = "row-sparse" if r.get("layout") == "rows" else "dense"
    return f"mfac {layout} {r.get('buffer_dtype', '')}"


def _table(setup: dict, results: list[dict]):
    from rich.table import Table

    table = Table(
        title=(
            f"M-FAC vs AdamW step on minilm-2-layer (d = {setup['d']:,}), "
            f"{setup['device_name']}, {setup['threads']} threads. bound = 2 reads of the "
            f"buffer at the copy/sum bandwidth {setup['bandwidth'] / 1e9:.1f} GB/s; strict = "
            f"at the best bandwidth {setup['bandwidth_strict'] / 1e9:.1f} GB/s; paired = "
            "median over steps of step / (2 x a sum over G timed right after it; dense); "
            "peak mem = the optimizer's peak "
            + ("device memory" if setup["device"] == "cuda" else "RSS")
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
    for r in results:
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


def _layout_table(results: list[dict]):
    """Dense against row-sparse M-FAC, one row per m: bytes, step and peak memory, and ratios."""
    from rich.table import Table

    by_m: dict[int, dict[str, dict]] = {}
    for r in results:
        if r.get("kind") == "mfac":
            by_m.setdefault(r["m"], {})[r["layout"]] = r
    rows = next((r for r in results if r.get("layout") == "rows"), None)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, nargs="+", default=[64, 256, 512, 1024], help="num_grads")
    parser.add_argument(
        "--layouts", nargs="+", default=["dense", "rows"], choices=["dense", "rows"]
    )
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--no-adamw", action="store_true", help="skip the AdamW baselines")
    add_data_args(parser)
    parser.add_argument(
        "--headroom-gib", type=float, default=2.0, help="memory to leave free (shared machine)"
    )
    parser.add_argument("--bw-bytes", type=int, default=GIB, help="bandwidth tensor size")
    parser.add_argument("--bw-repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run")
    # --precision: M-FAC's buffer dtype (fp32: float32, bf16: bfloat16)
    bench.add_common_args(parser, list(BUFFER_DTYPES), default="fp32")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available")
    buffer_dtype = BUFFER_DTYPES[args.precision]

    from rich.console import Console

    console = Console(stderr=True)
    machine = bench.Machine(args.device, [args.precision], args.threads)
    headroom = int(args.headroom_gib * GIB)
    configs = [] if args.no_adamw else [("adamw", 0, ""), ("adamw-fused", 0, "")]
    configs += [("mfac", m, layout) for m in args.m for layout in args.layouts]
    bandwidth_args = (args.bw_bytes, args.bw_repeats, args.device)
    results, bandwidths = [], []
    for kind, m, layout in configs:
        label = f"{kind} {layout} m={m}" if kind == "mfac" else kind
        console.print(f"bandwidth before {label} ...", markup=False)
        bandwidths.append(_measure(bench.bandwidth, *bandwidth_args, threads=args.threads))
        console.print(f"running {label} ...", markup=False)
        results.append(
            _measure(
                worker_step,
                *(kind, m, args.steps, args.warmup, buffer_dtype, layout or "dense"),
                *(args.data, headroom, args.device),
                threads=args.threads,
            )
        )
        if "error" in results[-1]:
            console.print(f"{label}: {results[-1]['error']}", markup=False)
    bandwidths.append(_measure(bench.bandwidth, *bandwidth_args, threads=args.threads))
    record = machine.record()

    measured = [b for b in bandwidths if "error" not in b]
    if not measured:
        raise SystemExit(f"bandwidth measurement failed: {bandwidths}")
    g_reads = [r["g_read_bandwidth"] for r in results if "g_read_bandwidth" in r]
    bandwidth = max([max(b["sum"], b["copy"]) for b in measured] + g_reads)
    bandwidth_strict = max([max(b.values()) for b in measured] + g_reads)
    for r in results:
        # The bandwidth bound: two reads of every byte of the buffer (dense or row-sparse).
        if r.get("kind") == "mfac" and "step_median" in r:
            r["bound"] = 2 * r["buffer_bytes"] / bandwidth
            r["bound_strict"] = 2 * r["buffer_bytes"] / bandwidth_strict
            r["ratio_median"] = r["step_median"] / r["bound"]
            r["ratio_min"] = r["step_min"] / r["bound"]
            r["ratio_strict"] = r["step_median"] / r["bound_strict"]
    setup = {
        "d": next((r["d"] for r in results if "d" in r), 0),
        "device": args.device,
        "device_name": record["gpu"] or "cpu",
        "threads": record["torch_threads"],
        "total_memory": psutil.virtual_memory().total,
        "bandwidth": bandwidth,
        "bandwidth_strict": bandwidth_strict,
        "bandwidth_measurements": bandwidths,
    }
    out = Console()
    if not out.is_terminal:
        out = Console(width=160)
    out.print(_table(setup, results))
    if any(r.get("kind") == "mfac" for r in results):
        out.print(_layout_table(results))
    for i, b in enumerate(measured):
        console.print(
            f"bandwidth run {i}: " + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in b.items()),
            markup=False,
        )
    verdicts = [
        bench.verdict(
            f"dense M-FAC step / 2 reads of G (paired), m={r['m']}",
            r.get("ratio_paired"),
            TARGET_PAIRED,
            "x",
            higher=False,
        )
        for r in results
        if r.get("kind") == "mfac" and r.get("layout") == "dense" and r.get("m") in TARGET_M
        and r.get("buffer_dtype") == "float32"
    ]  # fmt: skip
    bench.save(args.json, "bench_mfac", args, record, results, verdicts, setup)


if __name__ == "__main__":
    main()
