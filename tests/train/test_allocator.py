"""The CPU trainer's malloc setting: a large block freed and allocated again is reused, not
faulted back in from the kernel (hpsearch.train.allocator)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

pytest.importorskip("resource")

# Run in a fresh interpreter, with and without the setting: what the heap holds around a
# freed block decides whether it can be reused, and a test process's heap holds whatever the
# tests before it left. A step allocates activations, then the gradient, and frees them all:
# a 47 MB block alone, freed while small blocks sit after it, may not fit torch's aligned
# request for the next (glibc asks for the size plus the alignment).
MEASURE = """
import json, resource, sys, torch
from hpsearch.train.allocator import keep_freed_memory

kept = sys.argv[1] == "keep" and keep_freed_memory() and keep_freed_memory()  # cached

def step():
    activations = [torch.ones(300_000) for _ in range(10)]  # 1.2 MB each
    gradient = torch.ones(30522 * 384)  # minilm's word-embedding gradient: 47 MB, 11,446 pages
    del activations, gradient

for _ in range(6):  # the heap grows on the first steps
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(6):
    step()
print(json.dumps([kept, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 6]))
"""


def faults_per_step(setting: str) -> tuple[bool, int]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, setting], capture_output=True, text=True, check=True
    )
    kept, faults = json.loads(done.stdout.splitlines()[-1])
    return kept, faults


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the setting is glibc's",
)
def test_a_freed_embedding_gradient_is_reused_not_faulted_in_again():
    kept, faults = faults_per_step("keep")
    assert kept
    pages = 30522 * 384 * 4 // 4096
    assert faults < pages // 4, faults  # 0 in 16 runs of 16; one late heap growth: pages / 6
    # glibc's default maps the gradient afresh at every step and unmaps it when it is freed
    # (some runs fault in part of the activations too).
    kept, faults = faults_per_step("default")
    assert not kept and faults > pages * 0.95, faults
