"""How the command line says what is left to run and what it will cost
(:class:`hpsearch.search.estimate.Estimate`), in one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpsearch.search.estimate import Estimate


def duration_text(seconds: float) -> str:
    """``45 s``, ``4 min``, ``2 h 05 min``: rounded as an estimate deserves."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def estimate_line(estimate: Estimate, noun: str = "trial") -> str:
    """``estimate: 6 trials left ≈ 3 min (median of 2 finished trials, 31 s each, on cpu,
    bf16); M-FAC buffer up to 1.0 GiB (...)``; ``noun``: what is run (trial, re-run)."""
    from hpsearch.compare.labels import bytes_label

    e = estimate
    runs = f"{e.runs} {noun}{'s' if e.runs != 1 else ''}"
    if e.runs == 0:
        return f"estimate: no {noun} left to run ({e.basis})"
    if e.seconds is None:
        parts = [f"{runs} to run, no time estimate yet ({e.basis}: the first to finish gives one)"]
    else:
        where = f", on {' / '.join(e.ran_on)}" if e.ran_on else ""
        workers = f" with {e.workers} workers" if e.workers > 1 else ""
        parts = [f"{runs} ≈ {duration_text(e.seconds)}{workers} ({e.basis}{where})"]
    if e.mfac is not None:
        parts.append(
            f"M-FAC buffer up to {bytes_label(e.mfac.bytes)} at {e.mfac.num_grads} gradients "
            f"({e.mfac.source})"
        )
    if e.peak_memory_bytes is not None:
        parts.append(f"peak memory so far {bytes_label(e.peak_memory_bytes)}")
    return "estimate: " + "; ".join(parts)
