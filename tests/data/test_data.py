from __future__ import annotations

import numpy as np
import torch

from hpsearch.data.batches import eval_batches, train_batches
from hpsearch.data.encode import encode_split
from hpsearch.data.load import Split
from hpsearch.data.pretrained import load_tokenizer


def encoded(n=300, pairs=True, max_length=32):
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    texts = [
        tuple(" ".join(rng.choice(words, rng.integers(1, 30))) for _ in range(1 + pairs))
        for _ in range(n)
    ]
    split = Split(texts, np.arange(n) % 2)
    return encode_split(
        split, load_tokenizer("minilm"), max_length=max_length, kind="classification"
    )


def test_encoding_truncates_and_marks_segments():
    enc = encoded()
    assert int(enc.lengths.max()) <= 32
    first = enc.ids[enc.offsets[0] : enc.offsets[1]]
    assert first[0] == 101 and (first == 102).sum() == 2  # [CLS] a [SEP] b [SEP]
    types = enc.type_ids[enc.offsets[0] : enc.offsets[1]]
    assert types[0] == 0 and types[-1] == 1


def test_batch_pads_to_its_longest_row():
    enc = encoded()
    last = len(enc) - 1  # its padding would read past the end of the flat ids
    rows = torch.tensor([0, 5, 7, last])
    b = enc.batch(rows, pad_id=3)
    width = int(enc.lengths[rows].max())
    assert b["input_ids"].shape == b["token_type_ids"].shape == (4, width)
    assert b["attention_mask"].sum(1).tolist() == enc.lengths[rows].tolist()
    assert (b["input_ids"][b["attention_mask"] == 0] == 3).all()
    assert (b["token_type_ids"][b["attention_mask"] == 0] == 0).all()
    for i, row in enumerate(rows.tolist()):
        start, end = enc.offsets[row], enc.offsets[row + 1]
        assert b["input_ids"][i, : end - start].tolist() == enc.ids[start:end].tolist()
        assert b["token_type_ids"][i, : end - start].tolist() == enc.type_ids[start:end].tolist()
    assert b["labels"].tolist() == enc.labels[rows].tolist()
    assert b["labels"][:3].tolist() == [0, 1, 1]
    assert all(v.dtype == torch.long for k, v in b.items() if k != "labels")


def test_length_grouped_epoch_covers_every_row_once_and_pads_less():
    enc = encoded(n=2000, max_length=128)
    g = torch.Generator().manual_seed(0)
    grouped = train_batches(enc, 32, g, group_by_length=True)
    plain = train_batches(enc, 32, g, group_by_length=False)
    for batches in (grouped, plain):
        assert sorted(torch.cat(batches).tolist()) == list(range(2000))

    def padded(batches):
        return sum(len(b) * int(enc.lengths[b].max()) for b in batches)

    tokens = int(enc.lengths.sum())
    assert padded(grouped) < 1.05 * tokens < 0.8 * padded(plain)


def test_epochs_differ_but_seeds_repeat():
    enc = encoded()
    a = train_batches(enc, 32, torch.Generator().manual_seed(1), True)
    b = train_batches(enc, 32, torch.Generator().manual_seed(1), True)
    g = torch.Generator().manual_seed(1)
    first, second = train_batches(enc, 32, g, True), train_batches(enc, 32, g, True)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(first, second, strict=True))


def test_eval_batches_are_sorted_and_complete():
    enc = encoded()
    batches = eval_batches(enc, 64)
    lengths = enc.lengths[torch.cat(batches)]
    assert (lengths[:-1] >= lengths[1:]).all()
    assert sorted(torch.cat(batches).tolist()) == list(range(len(enc)))
