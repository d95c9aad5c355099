"""The compact trainer: ``train(spec, data) -> TrainResult``, read top to bottom.

setup (seed, device, precision) → model and finetuning scheme → the loop → (a multitask
study with ``multitask.ensemble``) a copy of the model per task, finetuned on its task
alone → result. The loop, :func:`_fit`, is one function for every phase: optimizer and
schedule → (unfreezing, one batch of every task, combined gradients, clipped step, K
evaluations per epoch). The trainer knows nothing of Optuna: the objective passes an
``on_eval`` hook that reports each evaluation and may raise ``optuna.TrialPruned``. Which
parameters train, at which lr and from which step is :mod:`hpsearch.train.finetune`'s answer for
``spec.finetune``.

Tasks: ``data`` is one task (a single-task study) or several by key (a multitask study:
one encoder, a head per task, see :mod:`hpsearch.train.heads`). A step takes one batch of every
task in turn (round robin) and combines their gradients: summed, or by PCGrad
(``multitask.combine``, :mod:`hpsearch.train.pcgrad`). PCGrad needs every task's gradient at each
step, and the summed loss takes the same batches so the two compare fairly. An epoch is as
many steps as the largest task needs for one pass; a smaller task starts its next pass
(reshuffled) when its batches run out, so every example is seen at least once an epoch and
the larger tasks do not wait. With one task, a step is one batch and an epoch one pass.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import torch

from hpsearch.data.batches import eval_batches, max_tokens_per_batch, train_batches
from hpsearch.data.encode import EncodedSplit, EncodedTask
from hpsearch.errors import HpsearchError
from hpsearch.metrics import (
    compute_metrics,
    evaluation_rank,
    metrics_of_task,
    multitask_metrics,
    task_metric,
)
from hpsearch.optim import get_optimizer
from hpsearch.optim.state import state_nbytes
from hpsearch.schedules import SCHEDULES
from hpsearch.spec.schema import Spec
from hpsearch.train.allocator import keep_freed_memory
from hpsearch.train.clip import clipped_step
from hpsearch.train.embedding_grad import row_sparse_grads
from hpsearch.train.finetune import (
    LayerGroup,
    param_groups,
    prepare,
    rebind,
    unfreeze_interval,
    unfrozen_depth,
)
from hpsearch.train.heads import HeadSpec
from hpsearch.train.learning_rates import set_lr
from hpsearch.train.models import build_model, build_multitask_model, row_sparse_embeddings
from hpsearch.train.pcgrad import write_pcgrad
from hpsearch.train.vocab import VocabularyTrim, trim_vocabulary

SINGLE = ""  # the task key of a single-task study: its metrics keep their plain names


class NonFiniteLossError(HpsearchError, FloatingPointError):
    """The training loss became NaN or infinite; ``steps``: the optimizer steps taken by
    then (what the run cost)."""

    def __init__(self, message: str, *, steps: int) -> None:
        super().__init__(message)
        self.steps = steps


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation on the validation split."""

    index: int  # 0-based evaluation number: the step reported to Optuna
    epoch: float  # epochs done, fractional
    step: int  # optimizer steps done
    metrics: dict[str, float]
    train_loss: float  # mean training loss since the previous evaluation (tasks summed)
    samples_per_s: float  # training throughput so far, evaluation time excluded
    elapsed: float  # wall seconds since training started
    # seconds of training so far, evaluations excluded (AlgoPerf's clock for time-to-target)
    train_seconds: float
    trainable_params: int  # trained in the last step (grows with gradual unfreezing)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EnsembleResult:
    """The per-task ensemble of a multitask trial: after joint training, a copy of the model
    per task, finetuned on that task alone; each task is predicted by its own copy."""

    metrics: dict[str, float]  # each task's metrics from its copy's best evaluation; the mean
    best: dict[str, EvalRecord]  # task key → its copy's best evaluation (of the task's metric)
    evals: dict[str, list[EvalRecord]]  # task key → every evaluation of its copy
    wall_time: float  # seconds of the ensemble phase


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
    train_seconds: float  # of joint training, evaluations excluded
    wall_time: float
    device: str
    precision: str  # what train.precision resolved to: fp32, bf16 or fp16 (autocast)
    # What the optimizer keeps between steps at the end of joint training, in bytes (AdamW's
    # moments; M-FAC's gradient buffer, GGᵀ and momentum): see hpsearch.optim.state
    optimizer_state_bytes: int
    peak_memory: PeakMemory
    ensemble: EnsembleResult | None = None  # multitask.ensemble: the per-task copies

    @property
    def metrics(self) -> dict[str, float]:
        """The metrics of what the trial made: its per-task ensemble when it has one, else
        the best evaluation of joint (or single-task) training."""
        return self.best.metrics if self.ensemble is None else self.ensemble.metrics


@dataclass(frozen=True)
class PeakMemory:
    """The most memory a trial took, and what was measured to say so."""

    bytes: int | None  # None: not measured
    measure: str  # what ``bytes`` is, e.g. "CUDA max allocated"


EvalHook = Callable[[EvalRecord], None]
StepHook = Callable[[int, int, float], None]  # (step, total_steps, recent mean loss)
ModelHook = Callable[[torch.nn.Module], torch.nn.Module]  # the model to train in its place


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise HpsearchError(f"train.device = {name!r} but CUDA is not available")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain float32 (weights stay float32 either way).

    ``auto`` is bf16 wherever the hardware multiplies bf16 natively: on CUDA when supported
    (else fp16, with loss scaling), and on a CPU with AVX512-BF16 or AMX. There a bf16
    product runs 2.3× faster than a float32 one, and a Quora step of minilm at 2 layers
    about 1.5× (``scripts/bench_trainer.py`` on 2 cores of an AMD EPYC), while F1 and loss move
    less than the seeds spread them (``scripts/bench_precision.py``, docs/train.md). On
    other CPUs torch emulates bf16, slower than float32, so ``auto`` is fp32 there.
    """
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 products in hardware (AVX512-BF16 or AMX tiles)."""
    # Private probes (torch 2.x); a torch without them gets float32, the safe answer.
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    native = any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return native and torch.backends.mkldnn.is_available()  # oneDNN runs the bf16 products


def precision_name(dtype: torch.dtype | None) -> str:
    """How a trial records its resolved precision: ``fp32``, ``bf16`` or ``fp16``."""
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def train(
    spec: Spec,
    data: EncodedTask | Mapping[str, EncodedTask],
    *,
    on_eval: EvalHook | None = None,
    on_step: StepHook | None = None,
    on_model: ModelHook | None = None,
) -> TrainResult:
    """Finetune ``spec.model`` on ``data`` with ``spec.train`` and ``spec.optimizer``.

    ``data`` is one task, or a multitask study's tasks by key (``DataCache.encoded_tasks``).
    Deterministic on CPU for a given ``train.seed``: the seed fixes the new heads' (and
    adapters' or LoRA's) weights, dropout and the batch order. Raises
    :class:`NonFiniteLossError` when the loss stops being finite; whatever ``on_eval``
    raises (``optuna.TrialPruned``) ends training. ``on_eval`` sees the evaluations of
    joint training, each with the study's metric; the ensemble phase is not pruned.
    ``on_model`` gets the model once it is built (vocabulary trimmed, finetuning scheme
    applied, still on the CPU) and returns the model to train: for benchmarks that change
    how it runs (``scripts/bench_compile.py`` compiles its encoder), not what it computes.
    """
    cfg = spec.train
    start = time.perf_counter()
    tasks = {SINGLE: data} if isinstance(data, EncodedTask) else dict(data)
    # Each task's metric in the multitask mean (a single task has none).
    chosen = {t.key: str(t.metric) for t in spec.tasks}

    # --- setup -------------------------------------------------------------------------
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    if device.type == "cpu":
        keep_freed_memory()  # the embedding's gradient, freed every step, stays mapped
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)  # this trial's peak, not the process's
    amp_dtype = resolve_precision(cfg.precision, device)
    ctx = _Context(
        spec=spec,
        device=device,
        amp_dtype=amp_dtype,
        # fp16 needs loss scaling to keep small gradients; bf16 has float32's range.
        scaler=torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16),
        batches=torch.Generator().manual_seed(cfg.seed),
        # PCGrad's task order has a generator of its own, so that a PCGrad trial and a
        # summed-loss trial with the same seed see the same batches.
        task_order=torch.Generator().manual_seed(cfg.seed + 1),
        start=start,
        on_step=on_step,
    )

    # --- model and finetuning scheme ---------------------------------------------------
    dropout = {"hidden_dropout": cfg.hidden_dropout, "attention_dropout": cfg.attention_dropout}
    if spec.is_multitask:
        model = build_multitask_model(
            spec.model.name,
            heads={key: _head(t) for key, t in tasks.items()},
            num_hidden_layers=spec.model.num_hidden_layers,
            **dropout,
        )
    else:
        model = build_model(
            spec.model.name,
            num_labels=tasks[SINGLE].num_labels,
            kind=tasks[SINGLE].kind,
            num_hidden_layers=spec.model.num_hidden_layers,
            **dropout,
        )
    # The word embedding keeps the rows the data uses (hpsearch.train.vocab: the same
    # training); the tasks' token ids now number those rows.
    tasks, vocabulary = trim_vocabulary(model, tasks)
    # Adapters or LoRA added and everything frozen; the layer groups the mode trains, head
    # first. Groups train once unfrozen: all at once, or one by one (gradual unfreezing).
    groups = prepare(model, spec.finetune)
    if on_model is not None:
        model = on_model(model)
    model.to(device)
    model.train()
    num_params = sum(p.numel() for p in model.parameters()) + vocabulary.left_out

    # --- training: joint training of every task (or the one task) ----------------------
    interval = unfreeze_interval(spec.finetune, _steps_per_epoch(tasks.values(), cfg.batch_size))
    joint = _fit(
        ctx,
        _PhasePlan(
            model=model,
            groups=groups,
            tasks=tasks,
            chosen=chosen,
            vocabulary=vocabulary,
            epochs=cfg.epochs,
            interval=interval,
            combine=spec.multitask.combine if spec.is_multitask else "sum",
            metric=spec.metric,
            maximize=spec.direction == "maximize",
            on_eval=on_eval,
        ),
    )

    # --- per-task ensemble: a copy per task, finetuned on its task alone ---------------
    ensemble = None
    if spec.is_multitask and spec.multitask.ensemble:
        ensemble = _ensemble(ctx, model, tasks, chosen, vocabulary, joint)

    return TrainResult(
        best=joint.best,
        evals=joint.evals,
        num_params=num_params,
        trainable_params=_trained_numel(vocabulary, joint.live),
        unfrozen_at=joint.unfrozen_at,
        steps=joint.steps,
        samples_per_s=joint.samples / joint.train_seconds,
        seconds_per_step=joint.train_seconds / joint.steps,
        train_seconds=joint.train_seconds,
        wall_time=time.perf_counter() - start,
        device=str(device),
        precision=precision_name(amp_dtype),
        optimizer_state_bytes=joint.optimizer_state_bytes,
        peak_memory=peak_memory(device),
        ensemble=ensemble,
    )


def peak_memory(device: torch.device) -> PeakMemory:
    """The peak memory of the trial on ``device``: CUDA's max allocated since the trial
    started; on CPU the process's peak resident set, which covers every trial the process
    ran so far (the kernel keeps no per-trial peak), or nothing where that is unavailable."""
    if device.type == "cuda":
        return PeakMemory(torch.cuda.max_memory_allocated(device), "CUDA max allocated")
    try:
        import resource  # Unix only
    except ImportError:
        return PeakMemory(None, "not measured on this platform")
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return PeakMemory(peak, "process peak RSS (CPU; the whole process so far)")


@dataclass(frozen=True)
class _Context:
    """What every phase of a trial shares: the device, precision and random streams."""

    spec: Spec
    device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype; None: float32
    scaler: torch.amp.GradScaler
    batches: torch.Generator  # the batch order
    task_order: torch.Generator  # PCGrad's random order of the other tasks
    start: float  # perf_counter at the start of the trial
    on_step: StepHook | None

    def autocast(self) -> torch.autocast:
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
        )


@dataclass(frozen=True)
class _PhasePlan:
    """What one run of the loop trains, on which tasks, for how long, and which of its
    evaluations is the best."""

    model: torch.nn.Module
    groups: list[LayerGroup]  # the layer groups the finetuning scheme trains, head first
    tasks: Mapping[str, EncodedTask]
    chosen: Mapping[str, str]  # each task's metric in the multitask mean
    vocabulary: VocabularyTrim  # what trim_vocabulary left out, for the counts of parameters
    epochs: int
    interval: int  # steps between two unfreezings (0: every group from the start)
    combine: str  # how the tasks' gradients combine: sum or pcgrad
    metric: str  # the best evaluation is the best of this metric
    maximize: bool
    on_eval: EvalHook | None


@dataclass(frozen=True)
class _Phase:
    """What one run of the loop leaves: its evaluations and what trained at its end."""

    best: EvalRecord
    evals: list[EvalRecord]
    live: list[LayerGroup]  # the layer groups that trained in the last step
    unfrozen_at: dict[str, int]
    steps: int
    samples: int  # training examples of every task
    train_seconds: float  # evaluations excluded
    optimizer_state_bytes: int  # of the optimizer at the end of the phase


def _head(task: EncodedTask) -> HeadSpec:
    """A task's head; a regression head starts at the mean training label (see heads.py)."""
    bias = float(task.train.labels.mean()) if task.kind == "regression" else 0.0
    return HeadSpec(task.num_labels, task.kind, bias)


def _trained_numel(vocabulary: VocabularyTrim, live: Iterable[LayerGroup]) -> int:
    """The numbers ``live`` trains, counted in the full model (the vocabulary untrimmed)."""
    live = list(live)
    names = (name for group in live for name in group.names)
    return sum(g.numel for g in live) + vocabulary.numel_left_out(names)


def _steps_per_epoch(tasks: Iterable[EncodedTask], batch_size: int) -> int:
    """One pass of the largest task (see the module docstring)."""
    return max(math.ceil(len(t.train) / batch_size) for t in tasks)


def _ensemble(
    ctx: _Context,
    model: torch.nn.Module,
    tasks: Mapping[str, EncodedTask],
    chosen: Mapping[str, str],
    vocabulary: VocabularyTrim,
    joint: _Phase,
) -> EnsembleResult:
    """Finetune a copy of the jointly trained ``model`` per task on that task alone."""
    tick = time.perf_counter()
    phases = {}
    for key in tasks:
        own = copy.deepcopy(model)  # from the model at the end of joint training
        own.keep_heads([key])
        # What trained at the end of joint training trains on: no unfreezing again.
        phases[key] = _fit(
            ctx,
            _PhasePlan(
                model=own,
                groups=rebind(joint.live, own),
                tasks={key: tasks[key]},
                chosen={key: chosen[key]},
                vocabulary=vocabulary,
                epochs=ctx.spec.multitask.ensemble_epochs,
                interval=0,
                combine="sum",
                metric=task_metric(key, chosen[key]),
                maximize=True,  # spec.py allows only maximized metrics in the mean
                on_eval=None,
            ),
        )
        del own
    per_task = {key: metrics_of_task(phase.best.metrics, key) for key, phase in phases.items()}
    return EnsembleResult(
        metrics=multitask_metrics(per_task, chosen),
        best={key: phase.best for key, phase in phases.items()},
        evals={key: phase.evals for key, phase in phases.items()},
        wall_time=time.perf_counter() - tick,
    )


def _fit(ctx: _Context, plan: _PhasePlan) -> _Phase:
    """The loop: train ``plan.groups`` of ``plan.model`` on ``plan.tasks`` for ``plan.epochs``
    epochs, unfreezing as :class:`_Trainable` says and evaluating as :class:`_Evaluations`."""
    cfg = ctx.spec.train
    model, tasks = plan.model, plan.tasks

    # --- optimizer and schedule --------------------------------------------------------
    steps_per_epoch = _steps_per_epoch(tasks.values(), cfg.batch_size)
    total_steps = steps_per_epoch * plan.epochs
    # The schedule gets the [train] fields its entry takes (slanted_triangular: no warmup).
    schedule = SCHEDULES.entry(cfg.schedule)
    multiplier = schedule.create(total_steps, **{k: getattr(cfg, k) for k in schedule.options})

    # M-FAC keeps the word embedding's gradients as the rows a step touches: at most the
    # distinct tokens of the batch_size training rows with the most (and padding), of
    # every task, since a step takes one batch of each.
    max_rows = sum(max_tokens_per_batch(t.train, cfg.batch_size) for t in tasks.values())
    row_sparse = row_sparse_embeddings(model, max_rows)
    # On CPU that gradient arrives as those rows and is written into a kept dense buffer,
    # not zero-filled whole at every backward (hpsearch.train.embedding_grad); PCGrad
    # combines dense per-task gradients, so it keeps torch's.
    sparse_grad = (
        row_sparse_grads(model.get_input_embeddings())
        if row_sparse and plan.combine == "sum"
        else None
    )

    trainable = _Trainable(ctx.spec, plan.groups, plan.interval, row_sparse)
    # Evaluate K times per epoch, evenly spaced, the last at the end of the epoch.
    eval_points = {
        max(1, round(k * steps_per_epoch / cfg.evals_per_epoch))
        for k in range(1, cfg.evals_per_epoch + 1)
    }
    batches = {
        key: _endless_batches(t.train, cfg.batch_size, ctx.batches, cfg.group_by_length)
        for key, t in tasks.items()
    }

    # --- the loop ----------------------------------------------------------------------
    # Losses stay on the device and are read every `sync_every` steps and at evaluations:
    # reading a CUDA tensor each step would stall the GPU (a host-device sync).
    losses = torch.zeros(total_steps, device=ctx.device)
    sync_every = 20
    evaluations = _Evaluations(ctx, plan, losses)

    step, samples, train_seconds = 0, 0, 0.0
    for epoch in range(plan.epochs):
        tick = time.perf_counter()
        for i in range(1, steps_per_epoch + 1):
            trainable.unfreeze(step)
            # The optimizer is read from `trainable` each time, never kept in a local: M-FAC's
            # is replaced at an unfreezing, and its old buffer must be freed first.
            set_lr(trainable.optimizer, multiplier(step))
            rows = {key: next(task_batches) for key, task_batches in batches.items()}
            loss = _backward(ctx, model, tasks, rows, plan.combine, trainable.params())
            known = {}  # gradient norms read from the rows: not read again for clipping
            if sparse_grad is not None and (norm := sparse_grad.densify_grad()) is not None:
                known[sparse_grad.weight] = norm
            clipped_step(
                trainable.optimizer, model.parameters(), cfg.max_grad_norm, ctx.scaler, known
            )
            trainable.optimizer.zero_grad(set_to_none=True)
            losses[step] = loss
            step += 1
            samples += sum(len(r) for r in rows.values())

            is_eval = i in eval_points
            if step % sync_every == 0 or is_eval or step == total_steps:
                _check_finite(losses, step, sync_every)
                if ctx.on_step is not None:
                    recent = losses[max(0, step - sync_every) : step]
                    ctx.on_step(step, total_steps, float(recent.mean()))
            if not is_eval:
                continue
            train_seconds += time.perf_counter() - tick
            epochs_done = epoch + i / steps_per_epoch
            evaluations.add(epochs_done, step, samples, train_seconds, trainable.live)
            tick = time.perf_counter()

    assert evaluations.best is not None  # every epoch ends with an evaluation
    return _Phase(
        evaluations.best,
        evaluations.evals,
        trainable.live,
        trainable.unfrozen_at,
        step,
        samples,
        train_seconds,
        state_nbytes(trainable.optimizer),
    )


class _Trainable:
    """The layer groups that train and their optimizer. Groups join as gradual unfreezing
    reaches them (``interval`` steps apart; 0: every group from the start)."""

    def __init__(
        self, spec: Spec, groups: list[LayerGroup], interval: int, row_sparse: bool
    ) -> None:
        self.spec = spec
        self.entry = get_optimizer(spec.optimizer.kind)
        self.groups = groups
        self.interval = interval
        self.row_sparse = row_sparse
        self.depth = unfrozen_depth(0, interval)
        self.live = [g for g in groups if g.depth <= self.depth]
        for group in self.live:
            group.requires_grad_()
        self.unfrozen_at = {g.name: 0 for g in self.live}
        self.optimizer = self._optimizer_for(self.live)

    def unfreeze(self, step: int) -> None:
        """Unfreeze the groups whose turn comes at ``step`` and hand them to the optimizer."""
        if unfrozen_depth(step, self.interval) <= self.depth:
            return
        self.depth = unfrozen_depth(step, self.interval)
        joining = [
            g for g in self.groups if g.depth <= self.depth and g.name not in self.unfrozen_at
        ]
        for group in joining:
            group.requires_grad_()
            self.unfrozen_at[group.name] = step
        self.live += joining
        if self.entry.accepts_new_params:  # AdamW and SGD keep the state they have
            for param_group in self._param_groups(joining):
                self.optimizer.add_param_group(param_group)
        else:  # M-FAC: a new gradient buffer over the new trainable set
            del self.optimizer  # free the old buffer before the new one is allocated
            self.optimizer = self._optimizer_for(self.live)

    def params(self) -> list[torch.nn.Parameter]:
        """The parameters that train now."""
        return [p for g in self.live for p in g.params]

    def _param_groups(self, layer_groups: list[LayerGroup]) -> list[dict]:
        """The optimizer's param groups of ``layer_groups``."""
        # One param group per peak lr (discriminative finetuning) and weight decay.
        cfg = self.spec.train
        decay = self.spec.finetune.layer_lr_decay
        return param_groups(
            layer_groups, lr=cfg.lr, layer_lr_decay=decay, weight_decay=cfg.weight_decay
        )

    def _optimizer_for(self, layer_groups: list[LayerGroup]) -> torch.optim.Optimizer:
        """A new optimizer over ``layer_groups``."""
        return self.entry.create(
            self._param_groups(layer_groups),
            lr=self.spec.train.lr,
            row_sparse=self.row_sparse,
            **self.spec.optimizer.hparams,
        )


class _Evaluations:
    """A phase's evaluations so far and the best of them; each new one goes to ``on_eval``."""

    def __init__(self, ctx: _Context, plan: _PhasePlan, losses: torch.Tensor) -> None:
        self.ctx = ctx
        self.plan = plan
        self.losses = losses  # every step's training loss, on the device
        self.evals: list[EvalRecord] = []
        self.best: EvalRecord | None = None
        self.last_eval_step = 0

    def add(
        self, epoch: float, step: int, samples: int, train_seconds: float, live: list[LayerGroup]
    ) -> None:
        """Evaluate the model on every task's validation split; keep, rank and report it."""
        ctx, plan, cfg = self.ctx, self.plan, self.ctx.spec.train
        per_task = {
            key: evaluate(
                plan.model, t.validation, t, cfg.eval_batch_size, ctx.device, ctx.autocast, task=key
            )
            for key, t in plan.tasks.items()
        }
        record = EvalRecord(
            index=len(self.evals),
            epoch=epoch,
            step=step,
            metrics=per_task[SINGLE]
            if SINGLE in per_task
            else multitask_metrics(per_task, plan.chosen),
            train_loss=float(self.losses[self.last_eval_step : step].mean()),
            samples_per_s=samples / train_seconds,
            elapsed=time.perf_counter() - ctx.start,
            train_seconds=train_seconds,
            trainable_params=_trained_numel(plan.vocabulary, live),
        )
        self.last_eval_step = step
        self.evals.append(record)
        if self.best is None or self._rank(record) > self._rank(self.best):
            self.best = record
        if plan.on_eval is not None:
            plan.on_eval(record)

    def _rank(self, record: EvalRecord) -> tuple[bool, float]:
        """How ``record`` ranks among the phase's evaluations: higher is better."""
        # An evaluation whose classifier answered one class for every validation example
        # learned nothing, whatever its F1: it is the best only if all so far were.
        return evaluation_rank(record.metrics, self.plan.metric, self.plan.maximize)


def _endless_batches(
    split: EncodedSplit, batch_size: int, generator: torch.Generator, group_by_length: bool
) -> Iterator[torch.Tensor]:
    """Batches of row indices, pass after pass, each pass shuffled anew when it is reached
    (so a single task draws its passes from ``generator`` exactly as epochs come)."""
    while True:
        yield from train_batches(split, batch_size, generator, group_by_length)


def _backward(
    ctx: _Context,
    model: torch.nn.Module,
    tasks: Mapping[str, EncodedTask],
    rows: Mapping[str, torch.Tensor],
    combine: str,
    params: list[torch.nn.Parameter],
) -> torch.Tensor:
    """Forward and backward of one batch of each task; the combined gradient of ``params``
    (the trainable ones) is left in ``.grad``. Returns the sum of the tasks' losses.

    ``sum``: each task's backward adds its gradient to ``.grad``, one task's graph freed
    before the next is built. ``pcgrad``: each task's gradient is taken apart, then
    :func:`hpsearch.train.pcgrad.write_pcgrad` combines them. Both work on the loss-scaled
    gradients (fp16); the projection is linear in them, so scaling commutes with it.
    """
    total = torch.zeros((), device=ctx.device)
    task_grads = []
    for key, task_rows in rows.items():
        data = tasks[key]
        batch = {
            k: v.to(ctx.device, non_blocking=True)
            for k, v in data.train.batch(task_rows, data.pad_id).items()
        }
        with ctx.autocast():
            loss = _forward(model, key, batch).loss
        scaled = ctx.scaler.scale(loss)
        if combine == "pcgrad":
            task_grads.append(torch.autograd.grad(scaled, params, allow_unused=True))
        else:
            scaled.backward()
        total += loss.detach()
    if combine == "pcgrad":
        write_pcgrad(params, task_grads, ctx.task_order)
    return total


def _forward(model: torch.nn.Module, key: str, batch: dict[str, torch.Tensor]):
    """The model's output for a batch of task ``key``; a multitask model is told the task."""
    return model(**batch) if key == SINGLE else model(task=key, **batch)


def _check_finite(losses: torch.Tensor, step: int, window: int) -> None:
    recent = losses[max(0, step - window) : step]
    bad = (~torch.isfinite(recent)).nonzero()
    if len(bad):
        first = max(0, step - window) + int(bad[0]) + 1
        raise NonFiniteLossError(f"non-finite loss at step {first}", steps=step)


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    split: EncodedSplit,
    data: EncodedTask,
    batch_size: int,
    device: torch.device,
    autocast: Callable[[], torch.autocast],
    *,
    task: str = SINGLE,
) -> dict[str, float]:
    """Metrics of ``model`` (its head of ``task``, in a multitask model) on ``split``; the
    model is back in training mode afterwards."""
    model.eval()
    outputs, labels = [], []
    loss_sum = torch.zeros((), device=device)
    for rows in eval_batches(split, batch_size):
        batch = {
            k: v.to(device, non_blocking=True) for k, v in split.batch(rows, data.pad_id).items()
        }
        with autocast():
            out = _forward(model, task, batch)
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
