"""The [CLS]-only last layer: the outputs and gradients of the full layer, whoever reads it."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import BertForSequenceClassification, BertModel

from hpsearch.train.adapters import add_houlsby_adapters, add_lora
from hpsearch.train.cls_only import ClsOnlyBertLayer, cls_only_last_layer
from hpsearch.train.heads import HeadSpec, MultitaskModel, TaskHead
from tests.train.bert import batch, config


def assert_same_training(full: torch.nn.Module, cls_only: torch.nn.Module, **inputs) -> None:
    """Equal logits and loss, and equal gradients on every parameter, name by name."""
    full.train()
    cls_only.train()
    ours, theirs = cls_only(**inputs), full(**inputs)
    torch.testing.assert_close(ours.logits, theirs.logits)
    torch.testing.assert_close(ours.loss, theirs.loss)
    ours.loss.backward()
    theirs.loss.backward()
    full_params = dict(full.named_parameters())
    assert list(dict(cls_only.named_parameters())) == list(full_params)  # names kept
    for name, param in cls_only.named_parameters():
        expected = full_params[name].grad
        if expected is None:
            assert param.grad is None, name
        else:
            torch.testing.assert_close(param.grad, expected, msg=name)


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_a_classifier_trains_as_with_the_full_last_layer(attention):
    torch.manual_seed(0)
    full = BertForSequenceClassification(config(attention))
    cls_only = copy.deepcopy(full)
    assert cls_only_last_layer(cls_only)
    assert type(cls_only.bert.encoder.layer[-1]) is ClsOnlyBertLayer
    assert type(cls_only.bert.encoder.layer[0]) is not ClsOnlyBertLayer
    assert_same_training(full, cls_only, **batch())


@pytest.mark.parametrize("mode", ["adapter", "lora"])
def test_adapters_and_lora_run_in_the_cls_only_layer(mode):
    torch.manual_seed(0)
    full = BertForSequenceClassification(config())
    if mode == "adapter":
        add_houlsby_adapters(full, 8)
    else:
        add_lora(full, r=4, alpha=8)
    for name, param in full.named_parameters():  # LoRA's B starts at 0: make it count
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.1)
    cls_only = copy.deepcopy(full)
    assert cls_only_last_layer(cls_only)
    assert_same_training(full, cls_only, **batch())


def test_a_multitask_model_reads_the_same_pooled_output():
    torch.manual_seed(0)
    heads = {"pairs": TaskHead(32, HeadSpec(2, "classification"), 0.0, 0.02)}
    full = MultitaskModel(BertModel(config()), heads)
    cls_only = copy.deepcopy(full)
    assert cls_only_last_layer(cls_only)
    assert_same_training(full, cls_only, task="pairs", **batch())


def test_a_copy_keeps_the_cls_only_layer():
    model = BertForSequenceClassification(config())
    cls_only_last_layer(model)
    assert type(copy.deepcopy(model).bert.encoder.layer[-1]) is ClsOnlyBertLayer


def test_a_decoder_is_left_as_it_is():
    model = BertModel(config(is_decoder=True))
    assert not cls_only_last_layer(model)
    assert not any(isinstance(m, ClsOnlyBertLayer) for m in model.modules())


def test_a_model_without_a_bert_encoder_is_left_as_it_is():
    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    assert not cls_only_last_layer(model)
