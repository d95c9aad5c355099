"""The CPU trainer's malloc setting: a large block freed and allocated again is reused, not
faulted back in from the kernel (hpsearch.train.allocator)."""

from __future__ import annotations

import platform

import pytest
import torch

from hpsearch.train.allocator import keep_freed_memory

resource = pytest.importorskip("resource")


def page_faults_of_a_fresh(numel: int) -> int:
    """Minor page faults taken to allocate and fill a float32 tensor of ``numel``."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = torch.ones(numel)
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the setting is glibc's",
)
def test_a_freed_embedding_gradient_is_reused_not_faulted_in_again():
    assert keep_freed_memory() and keep_freed_memory()  # once per process, same answer
    numel = 30522 * 384  # minilm's word-embedding gradient: 47 MB, 11,446 pages
    faults = [page_faults_of_a_fresh(numel) for _ in range(4)]
    # The heap grows on the first allocations, then the freed block is reused (glibc's
    # default maps and unmaps it every time: 11,446 faults each).
    assert faults[-1] < numel * 4 // 4096 // 100, faults
