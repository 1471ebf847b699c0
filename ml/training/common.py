"""Plumbing shared by both training stages: seeding, DDP under torchrun, the step loop with progress bar,
JSON-lines metrics, periodic and Ctrl-C checkpoints, and resuming."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ml.config import TrainingRecipe
from ml.data.datasets import StepBatchSampler
from ml.inference import resolve_device

CHECKPOINT_NAME = "checkpoint.pt"
TRAINING_STATE_NAME = "training_state.pt"
METRICS_NAME = "metrics.jsonl"


class TrainingInterrupted(Exception):
    """Raised after Ctrl-C once the checkpoint of the current step has been written."""

    def __init__(self, step: int, out_dir: Path):
        super().__init__(f"Interrupted at step {step}; checkpoint saved in {out_dir}. Continue with --resume.")
        self.step = step


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


@dataclass
class DistributedContext:
    """Where this process runs. Under ``torchrun`` (RANK/WORLD_SIZE set) a process group is created: NCCL with
    one GPU per process when CUDA is present, gloo on CPU."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    initialized: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        if not self.initialized:
            return model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def barrier(self) -> None:
        if self.initialized:
            dist.barrier()

    def close(self) -> None:
        if self.initialized:
            dist.destroy_process_group()
            self.initialized = False


def setup_distributed(device: str = "auto") -> DistributedContext:
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return DistributedContext(device=resolve_device(device))
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistributedContext(rank=rank, world_size=world_size, initialized=True,
                              device=torch.device("cuda", local_rank) if use_cuda else torch.device("cpu"))


@contextlib.contextmanager
def training_run(out_dir: Path, device: str, seed: int):
    """Create the output folder, join the process group (under torchrun), seed per rank; yields the context and
    the paths of the run's checkpoint and training state; always leaves the process group."""
    out_dir.mkdir(parents=True, exist_ok=True)
    context = setup_distributed(device)
    try:
        seed_everything(seed + context.rank)
        yield context, out_dir / CHECKPOINT_NAME, out_dir / TRAINING_STATE_NAME
    finally:
        context.close()


class MetricsLog:
    """Appends one JSON object per line to ``metrics.jsonl`` (main process only), so resumed runs continue it."""

    def __init__(self, out_dir: Path, enabled: bool):
        self.path = out_dir / METRICS_NAME
        self.enabled = enabled

    def write(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")


def scheduled_rate(step: int, recipe: TrainingRecipe) -> float:
    """The share of the base learning rate at ``step``: linear warm-up over ``warmup_steps``, then a cosine from
    1 to 0.05 at ``steps``. A pure function of the step, so a resumed run continues the same schedule."""
    if step < recipe.warmup_steps:
        return (step + 1) / recipe.warmup_steps
    span = max(1, recipe.steps - recipe.warmup_steps)
    progress = min(1.0, (step - recipe.warmup_steps) / span)
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_learning_rates(optimizer: torch.optim.Optimizer, step: int, recipe: TrainingRecipe) -> None:
    """Each parameter group runs at its ``base_lr`` times the schedule."""
    share = scheduled_rate(step, recipe)
    for group in optimizer.param_groups:
        group["lr"] = group.setdefault("base_lr", group["lr"]) * share


def step_batches(make_batch: Callable[[int], object], start_step: int) -> Iterator:
    """Batches ``make_batch(step)`` for step = start_step, start_step + 1, … (the style bank's batches are pure
    functions of the step)."""
    return (make_batch(step) for step in itertools.count(start_step))


def loader_batches(dataset, recipe: TrainingRecipe, start_step: int, context: DistributedContext) -> Iterator:
    """Batches of a map-style dataset through :class:`StepBatchSampler`, which resumes at ``start_step``."""
    sampler = StepBatchSampler(len(dataset), recipe.batch_size, recipe.seed, start_step, context.rank,
                               context.world_size)
    return iter(_data_loader(dataset, sampler, recipe.num_workers, recipe.in_memory, context.device))


def run_steps(*, stage: str, batches: Iterable, recipe: TrainingRecipe,
              train_step: Callable[[object, int], dict[str, torch.Tensor]], save: Callable[[int], None],
              start_step: int, out_dir: Path, context: DistributedContext, images_per_step: int | None = None,
              on_step: Callable[[int, dict[str, torch.Tensor]], None] | None = None) -> int:
    """The loop of every stage: ``train_step(batch, step)`` returns loss terms; every ``log_every`` steps their
    values and the throughput (``images_per_step``, default the batch size) go to metrics.jsonl; ``save(step)``
    runs every ``save_every`` steps, at the end, and on Ctrl-C (then :class:`TrainingInterrupted` is raised).
    ``on_step(step, terms)`` runs after every step (a caller's progress report; an exception it raises stops the
    run without saving)."""
    total_steps, log_every, save_every = recipe.steps, recipe.log_every, recipe.save_every
    images_per_step = images_per_step or recipe.batch_size
    log = MetricsLog(out_dir, context.is_main)
    step = start_step
    progress = tqdm(total=total_steps, initial=start_step, desc=stage, unit="step", disable=not context.is_main)
    window_start, window_steps = time.perf_counter(), 0
    try:
        for batch in batches:
            if step >= total_steps:
                break
            terms = train_step(batch, step)
            step += 1
            window_steps += 1
            progress.update(1)
            if step % log_every == 0 or step == total_steps:
                elapsed = time.perf_counter() - window_start
                values = {name: float(value) for name, value in terms.items()}
                log.write({"stage": stage, "step": step, **values,
                           "images_per_s": window_steps * images_per_step / max(elapsed, 1e-9),
                           "time": time.time()})
                progress.set_postfix(loss=f"{values['loss']:.4f}")
                window_start, window_steps = time.perf_counter(), 0
            if step % save_every == 0 and step < total_steps and context.is_main:
                save(step)
            if on_step is not None:
                on_step(step, terms)
    except KeyboardInterrupt:
        progress.close()
        if context.is_main:
            save(step)
        raise TrainingInterrupted(step, out_dir) from None
    progress.close()
    if context.is_main:
        save(step)
    context.barrier()
    return step


def _data_loader(dataset, batch_sampler, num_workers: int, in_memory: bool, device: torch.device):
    """In-memory datasets already live on the training device: no workers (CUDA tensors must not cross
    processes). Otherwise worker processes decode and augment in parallel."""
    workers = 0 if in_memory else num_workers
    return torch.utils.data.DataLoader(dataset, batch_sampler=batch_sampler, num_workers=workers,
                                       pin_memory=device.type == "cuda" and not in_memory,
                                       persistent_workers=workers > 0)


def autocast_context(device: torch.device):
    """bf16 autocast on GPUs that support it (no loss scaling needed); plain fp32 on CPU."""
    enabled = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)
