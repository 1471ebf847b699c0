"""A process pool with a progress bar, shared by the dataset builders."""

from __future__ import annotations

import multiprocessing
from typing import Callable, Iterable, Iterator

from tqdm import tqdm


def _init_worker() -> None:
    """One thread per process: the pool already uses every core, oversubscription only slows it."""
    import torch

    torch.set_num_threads(1)


def run_tasks(function: Callable, tasks: list, workers: int, total: int, weight: Callable = lambda result: 1,
              desc: str = "", unit: str = "it", progress: bool = True) -> Iterator:
    """Yield ``function(task)`` for every task (in completion order), advancing the bar by ``weight``.

    ``workers == 1`` runs in this process (simpler tracebacks, no start-up cost in tests).
    """
    bar = tqdm(total=total, desc=desc, unit=unit, disable=not progress)
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker) if workers > 1 else None
    finished = False
    try:
        results: Iterable = pool.imap_unordered(function, tasks) if pool else map(function, tasks)
        for result in results:
            bar.update(weight(result))
            yield result
        finished = True
    finally:
        bar.close()
        if pool:
            pool.close() if finished else pool.terminate()  # stop at once on errors and Ctrl-C
            pool.join()
