"""The compact trainer: ``train(spec, data) -> TrainResult``, one function read top to bottom.

setup (seed, device, precision) → model and finetuning scheme → optimizer and schedule → the
loop (unfreezing, batches, clipped steps, K evaluations per epoch) → result. It knows nothing
of Optuna: the objective passes an ``on_eval`` hook that reports each evaluation and may
raise ``optuna.TrialPruned``. Which parameters train, at which lr and from which step is
:mod:`hpsearch.finetune`'s answer for ``spec.finetune``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from hpsearch.data import (
    EncodedSplit,
    EncodedTask,
    eval_batches,
    max_tokens_per_batch,
    train_batches,
)
from hpsearch.errors import HpsearchError
from hpsearch.finetune import LayerGroup, param_groups, prepare, unfreeze_interval, unfrozen_depth
from hpsearch.metrics import compute_metrics
from hpsearch.models import build_model, row_sparse_embeddings
from hpsearch.optim import get_optimizer
from hpsearch.schedules import lr_multiplier, set_lr
from hpsearch.spec import Spec


class NonFiniteLossError(HpsearchError, FloatingPointError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation on the validation split."""

    index: int  # 0-based evaluation number: the step reported to Optuna
    epoch: float  # epochs done, fractional
    step: int  # optimizer steps done
    metrics: dict[str, float]
    train_loss: float  # mean training loss since the previous evaluation
    samples_per_s: float  # training throughput so far, evaluation time excluded
    elapsed: float  # wall seconds since training started
    trainable_params: int  # trained in the last step (grows with gradual unfreezing)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    best: EvalRecord  # the best evaluation of the objective metric, not the last
    evals: list[EvalRecord]
    num_params: int  # all of the model's, adapters or LoRA included
    trainable_params: int  # trained at the end: the most, with gradual unfreezing
    unfrozen_at: dict[str, int]  # layer group → the step from which it trained (0: all along)
    steps: int
    samples_per_s: float
    seconds_per_step: float
    wall_time: float
    device: str


EvalHook = Callable[[EvalRecord], None]
StepHook = Callable[[int, int, float], None]  # (step, total_steps, recent mean loss)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise HpsearchError(f"train.device = {name!r} but CUDA is not available")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain float32. ``auto`` means fp32 on CPU (autocast
    there is slower for these models) and bf16 on CUDA when supported, else fp16."""
    if name == "fp32" or (name == "auto" and device.type != "cuda"):
        return None
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[name]


def train(
    spec: Spec,
    data: EncodedTask,
    *,
    on_eval: EvalHook | None = None,
    on_step: StepHook | None = None,
) -> TrainResult:
    """Finetune ``spec.model`` on ``data`` with ``spec.train`` and ``spec.optimizer``.

    Deterministic on CPU for a given ``train.seed``: the seed fixes the new head's (and
    adapters' or LoRA's) weights, dropout and the batch order. Raises
    :class:`NonFiniteLossError` when the loss stops being finite; whatever ``on_eval``
    raises (``optuna.TrialPruned``) ends training.
    """
    cfg = spec.train
    start = time.perf_counter()

    # --- setup -------------------------------------------------------------------------
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    amp_dtype = resolve_precision(cfg.precision, device)
    # fp16 needs loss scaling to keep small gradients; bf16 has float32's range.
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    def autocast() -> torch.autocast:
        return torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    # --- model and finetuning scheme ----------------------------------------------------
    model = build_model(
        spec.model.name,
        num_labels=data.num_labels,
        kind=data.kind,
        num_hidden_layers=spec.model.num_hidden_layers,
        hidden_dropout=cfg.hidden_dropout,
        attention_dropout=cfg.attention_dropout,
    )
    # Adapters or LoRA added and everything frozen; the layer groups the mode trains, head
    # first. Groups train once unfrozen: all at once, or one by one (gradual unfreezing).
    groups = prepare(model, spec.finetune)
    model.to(device)
    model.train()
    num_params = sum(p.numel() for p in model.parameters())

    # --- optimizer and schedule --------------------------------------------------------
    steps_per_epoch = math.ceil(len(data.train) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    warmup = spec.applies("train.warmup_ratio")  # slanted_triangular warms up on its own
    multiplier = lr_multiplier(
        cfg.schedule,
        total_steps,
        round(cfg.warmup_ratio * total_steps) if warmup else 0,
        cut_frac=cfg.cut_frac,
        ratio=cfg.ratio,
    )
    interval = unfreeze_interval(spec.finetune, steps_per_epoch)
    entry = get_optimizer(spec.optimizer.kind)

    def groups_of(layer_groups: list[LayerGroup]) -> list[dict]:
        # One param group per peak lr (discriminative finetuning) and weight decay.
        decay = spec.finetune.layer_lr_decay
        return param_groups(
            layer_groups, lr=cfg.lr, layer_lr_decay=decay, weight_decay=cfg.weight_decay
        )

    # M-FAC keeps the word embedding's gradients as the rows a batch touches: at most the
    # distinct tokens of the batch_size training rows with the most (and padding).
    row_sparse = row_sparse_embeddings(model, max_tokens_per_batch(data.train, cfg.batch_size))

    def optimizer_for(layer_groups: list[LayerGroup]) -> torch.optim.Optimizer:
        return entry.create(
            groups_of(layer_groups), lr=cfg.lr, row_sparse=row_sparse, **spec.optimizer.hparams
        )

    depth = unfrozen_depth(0, interval)
    live = [g for g in groups if g.depth <= depth]
    for group in live:
        group.requires_grad_()
    unfrozen_at = {g.name: 0 for g in live}
    optimizer = optimizer_for(live)
    # Evaluate K times per epoch, evenly spaced, the last at the end of the epoch.
    eval_points = {
        max(1, round(k * steps_per_epoch / cfg.evals_per_epoch))
        for k in range(1, cfg.evals_per_epoch + 1)
    }

    # --- the loop ----------------------------------------------------------------------
    # Losses stay on the device and are read every `sync_every` steps and at evaluations:
    # reading a CUDA tensor each step would stall the GPU (a host-device sync).
    losses = torch.zeros(total_steps, device=device)
    sync_every = 20
    evals: list[EvalRecord] = []
    best: EvalRecord | None = None
    sign = 1.0 if spec.direction == "maximize" else -1.0
    step, samples, train_seconds, last_eval_step = 0, 0, 0.0, 0
    for epoch in range(cfg.epochs):
        tick = time.perf_counter()
        for i, rows in enumerate(
            train_batches(data.train, cfg.batch_size, generator, cfg.group_by_length), start=1
        ):
            if unfrozen_depth(step, interval) > depth:  # gradual unfreezing: a group joins
                depth = unfrozen_depth(step, interval)
                joining = [g for g in groups if g.depth <= depth and g.name not in unfrozen_at]
                for group in joining:
                    group.requires_grad_()
                    unfrozen_at[group.name] = step
                live += joining
                if entry.accepts_new_params:  # AdamW and SGD keep the state they have
                    for param_group in groups_of(joining):
                        optimizer.add_param_group(param_group)
                else:  # M-FAC: a new gradient buffer over the new trainable set
                    del optimizer  # free the old buffer before the new one is allocated
                    optimizer = optimizer_for(live)
            set_lr(optimizer, multiplier(step))
            batch = {
                k: v.to(device, non_blocking=True)
                for k, v in data.train.batch(rows, data.pad_id).items()
            }
            with autocast():
                loss = model(**batch).loss
            scaler.scale(loss).backward()
            if cfg.max_grad_norm > 0:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            losses[step] = loss.detach()
            step += 1
            samples += len(rows)

            is_eval = i in eval_points
            if step % sync_every == 0 or is_eval or step == total_steps:
                _check_finite(losses, step, sync_every)
                if on_step is not None:
                    recent = losses[max(0, step - sync_every) : step]
                    on_step(step, total_steps, float(recent.mean()))
            if not is_eval:
                continue
            train_seconds += time.perf_counter() - tick
            metrics = evaluate(model, data.validation, data, cfg.eval_batch_size, device, autocast)
            record = EvalRecord(
                index=len(evals),
                epoch=epoch + i / steps_per_epoch,
                step=step,
                metrics=metrics,
                train_loss=float(losses[last_eval_step:step].mean()),
                samples_per_s=samples / train_seconds,
                elapsed=time.perf_counter() - start,
                trainable_params=sum(g.numel for g in live),
            )
            last_eval_step = step
            evals.append(record)
            if best is None or sign * metrics[spec.metric] > sign * best.metrics[spec.metric]:
                best = record
            if on_eval is not None:
                on_eval(record)
            tick = time.perf_counter()

    assert best is not None  # every epoch ends with an evaluation
    return TrainResult(
        best=best,
        evals=evals,
        num_params=num_params,
        trainable_params=sum(g.numel for g in live),
        unfrozen_at=unfrozen_at,
        steps=step,
        samples_per_s=samples / train_seconds,
        seconds_per_step=train_seconds / step,
        wall_time=time.perf_counter() - start,
        device=str(device),
    )


def _check_finite(losses: torch.Tensor, step: int, window: int) -> None:
    recent = losses[max(0, step - window) : step]
    bad = (~torch.isfinite(recent)).nonzero()
    if len(bad):
        first = max(0, step - window) + int(bad[0]) + 1
        raise NonFiniteLossError(f"non-finite loss at step {first}")


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    split: EncodedSplit,
    data: EncodedTask,
    batch_size: int,
    device: torch.device,
    autocast: Callable[[], torch.autocast],
) -> dict[str, float]:
    """Metrics of ``model`` on ``split``; the model is back in training mode afterwards."""
    model.eval()
    outputs, labels = [], []
    loss_sum = torch.zeros((), device=device)
    for rows in eval_batches(split, batch_size):
        batch = {
            k: v.to(device, non_blocking=True) for k, v in split.batch(rows, data.pad_id).items()
        }
        with autocast():
            out = model(**batch)
        loss_sum += out.loss.float() * len(rows)
        outputs.append(out.logits.float())
        labels.append(batch["labels"])
    model.train()
    return compute_metrics(
        data.kind,
        torch.cat(outputs).cpu().numpy(),
        torch.cat(labels)
        .cpu()
        .numpy()
        .astype(np.float64 if data.kind == "regression" else np.int64),
        float(loss_sum) / len(split),
    )
