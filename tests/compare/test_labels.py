"""Names in the comparison come from the registries' labels; sizes read in binary units."""

from __future__ import annotations

import pytest

from hpsearch.compare.labels import bytes_label, optimizer_name
from hpsearch.optim import OPTIMIZERS


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_names_are_the_entries_labels(name):
    assert optimizer_name(name) == OPTIMIZERS[name].label


def test_optimizer_labels_and_an_unregistered_name():
    assert [optimizer_name(k) for k in ("adamw", "mfac", "sgd")] == ["AdamW", "M-FAC", "SGD"]
    assert optimizer_name("lion") == "lion"


def test_bytes_read_in_binary_units():
    assert [bytes_label(n) for n in (None, 800, 4096, 5 * 2**20, 3 * 2**30)] == [
        "–",
        "800 B",
        "4.0 KiB",
        "5.0 MiB",
        "3.0 GiB",
    ]
