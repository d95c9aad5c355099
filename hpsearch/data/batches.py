"""Batches: dynamic padding and length-grouped training batches, evaluation batches."""

from __future__ import annotations

import torch

from hpsearch.data.encode import EncodedSplit


def train_batches(
    split: EncodedSplit, batch_size: int, generator: torch.Generator, group_by_length: bool
) -> list[torch.Tensor]:
    """One epoch of row indices, shuffled by ``generator``.

    With ``group_by_length``, rows are shuffled, cut into chunks of 64 batches, sorted by length
    within a chunk, batched, and the batches shuffled: padding nearly vanishes while every
    epoch still sees a new order (the idea of Hugging Face's LengthGroupedSampler).
    """
    perm = torch.randperm(len(split), generator=generator)
    if not group_by_length:
        return list(perm.split(batch_size))
    lengths = split.lengths
    batches: list[torch.Tensor] = []
    for chunk in perm.split(batch_size * 64):
        ordered = chunk[torch.argsort(lengths[chunk], descending=True, stable=True)]
        batches.extend(ordered.split(batch_size))
    order = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in order]


def max_tokens_per_batch(split: EncodedSplit, batch_size: int) -> int:
    """The most distinct token ids one batch of ``batch_size`` rows of ``split`` can hold.

    A batch holds the distinct ids of its rows plus the padding id, so the distinct-id counts
    of the ``batch_size`` rows with the most, summed, plus one, bound every batch however the
    rows are drawn. That is at most batch size x max length, and usually far less (the rows
    repeat tokens, and few rows are long). M-FAC sizes its row-sparse word-embedding storage
    with it: a step's gradient touches only the rows of the batch's tokens.
    """
    if split.ids.numel() == 0:
        return 1  # padding only
    vocab = int(split.ids.max()) + 1
    row = torch.repeat_interleave(torch.arange(len(split)), split.lengths)
    pairs = torch.unique(row * vocab + split.ids)  # distinct (row, id), as one number each
    distinct = torch.bincount(pairs // vocab, minlength=len(split))
    return int(distinct.topk(min(batch_size, len(split))).values.sum()) + 1


def eval_batches(split: EncodedSplit, batch_size: int) -> list[torch.Tensor]:
    """All rows, sorted by length so that little compute goes to padding."""
    order = torch.argsort(split.lengths, descending=True, stable=True)
    return list(order.split(batch_size))
