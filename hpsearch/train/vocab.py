"""A trial's word embedding keeps the rows its data uses: the same training, fewer numbers.

A row of the input word embedding that no token of the training or validation data selects
takes part in no forward pass, so nothing the trial measures depends on it, and its
gradient is zero at every step. The optimizers leave it out of every other row's update:
AdamW's moments of a row that never had a gradient stay zero, so it only decays with the
weight decay; SGD's momentum stays zero likewise; M-FAC's stored gradients are zero on its
coordinates, which adds nothing to their products and gives it a zero update (the decay
aside). Gradient clipping's norm is unchanged too. Yet every optimizer step reads and
writes those rows, and M-FAC stores them ``num_grads`` times.

So the trainer keeps the used rows only, in vocabulary order, and maps the data's token ids
onto them (:func:`trim_vocabulary`). Losses, metrics and every kept number's trajectory are
the ones of the full vocabulary, but for float rounding where a sum runs over a different
number of zeros (M-FAC's blocked products). Nothing reads a trimmed model's weights after a
trial (hpsearch saves no model); its config's ``vocab_size`` says the kept rows, and the
parameter counts a trial reports are the full model's.

What it saves is the unused share of the vocabulary times its share of the parameters. 2,000
Quora training and 1,000 validation pairs use 7,658 of minilm's 30,522 tokens (25 %), all
17,000 Quora pairs of the CS224N files 49 %; the word embedding is 11.7M of minilm's 15.6M
parameters at 2 layers, and 3.9M of bert-tiny's 4.4M. A larger dataset uses more of the
vocabulary, and saves less.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from hpsearch.data.encode import EncodedTask

__all__ = ["VocabularyTrim", "trim_vocabulary", "used_tokens"]


@dataclass(frozen=True)
class VocabularyTrim:
    """What :func:`trim_vocabulary` left out of the model's word embedding."""

    weight_name: str  # the word embedding's parameter name ("" where it cannot be trimmed)
    kept_rows: int  # its rows now (0 where it cannot be trimmed)
    left_out: int  # numbers left out: unused rows × width

    def numel_left_out(self, names: Iterable[str]) -> int:
        """The numbers left out of the weight among parameters ``names`` (0 if not there):
        added to a count of the trimmed model's parameters, it counts the full model's."""
        return self.left_out if self.weight_name in set(names) else 0


def used_tokens(tasks: Iterable[EncodedTask], vocab_size: int) -> torch.Tensor:
    """The sorted token ids that the tasks' training or validation rows contain, and their
    padding id: every row of the word embedding a batch of theirs can select."""
    used = torch.zeros(vocab_size, dtype=torch.bool)
    for task in tasks:
        used[task.train.ids] = True
        used[task.validation.ids] = True
        used[task.pad_id] = True
    return used.nonzero().flatten()


def trim_vocabulary(
    model: nn.Module, tasks: Mapping[str, EncodedTask]
) -> tuple[dict[str, EncodedTask], VocabularyTrim]:
    """Keep the rows of ``model``'s word embedding that ``tasks`` use, in place; returns the
    tasks with their token ids mapped onto the kept rows, and what was left out.

    Call it before anything holds the weight (freezing, adapters, optimizers). A weight tied
    to an output layer (a language-model head, which scores every token) is left whole.
    """
    embedding = model.get_input_embeddings()
    output = model.get_output_embeddings()
    if not isinstance(embedding, nn.Embedding) or (
        output is not None and output.weight is embedding.weight
    ):
        return dict(tasks), VocabularyTrim("", 0, 0)
    weight = embedding.weight
    vocab_size, width = weight.shape
    used = used_tokens(tasks.values(), vocab_size)
    name = next(n for n, p in model.named_parameters() if p is weight)
    if len(used) == vocab_size:
        return dict(tasks), VocabularyTrim(name, vocab_size, 0)

    position = torch.full((vocab_size,), -1, dtype=torch.long)  # old id -> kept row
    position[used] = torch.arange(len(used))
    embedding.weight = nn.Parameter(weight.detach()[used].clone(), weight.requires_grad)
    embedding.num_embeddings = len(used)
    for module in model.modules():  # the configs say what the model now is
        config = getattr(module, "config", None)
        if getattr(config, "vocab_size", None) == vocab_size:
            config.vocab_size = len(used)  # type: ignore[union-attr]
    if embedding.padding_idx is not None:
        # The padding row gets no gradient; if no token selects it, it matters to nothing.
        kept = int(position[embedding.padding_idx])
        embedding.padding_idx = kept if kept >= 0 else None

    def mapped(task: EncodedTask) -> EncodedTask:
        return dataclasses.replace(
            task,
            pad_id=int(position[task.pad_id]),
            train=dataclasses.replace(task.train, ids=position[task.train.ids]),
            validation=dataclasses.replace(task.validation, ids=position[task.validation.ids]),
        )

    trim = VocabularyTrim(name, len(used), (vocab_size - len(used)) * width)
    return {key: mapped(task) for key, task in tasks.items()}, trim
