"""The experiments run: vectors first, then one pass over the test photos in which each photo is decoded once,
enhanced once per distinct vector (in batches) and scored against every user that system is compared with."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ml.checkpoint import file_sha256
from ml.experiments.embedding_checks import embedding_checks
from ml.experiments.protocol import (EmbeddingCache, ExperimentData, ExperimentSettings, oracle_vector,
                                     scheme_vectors)
from ml.experiments.scoring import ALL_METRICS, SWEEP_METRICS, ScoreBoard, to_tensor
from ml.experiments.targets import chroma_spread, style_fidelity, targets
from ml.images import load_image, resize_image, to_uint8
from ml.inference import Enhancer
from ml.personalize import mean_vector
from ml.styles import STYLES

SCHEMES = ("scheme2", "scheme1")
GRID_HEIGHT = 160
PRECISION_NAMES = {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}
MONOCHROME_USERS = ("mono_classic", "sepia")


@dataclass
class Job:
    """One enhancement of a photo and every (system, user, metrics) its output is scored as."""

    vector: torch.Tensor
    scorings: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)


def sweep_system(scheme: str, count: int, draw: int) -> str:
    return f"sweep:{scheme}:{count}:{draw}"


def _table_vectors(enhancer: Enhancer, data: ExperimentData, embeddings: EmbeddingCache) -> dict:
    """Per personalized user: the sweep's vectors (scheme, count, draw), the Table 1 ones (draw 0 at
    ``preferred``) and the oracle; per training user, scheme 2 from ``preferred`` of its own retouches."""
    settings = data.settings
    everyone = data.train_users + data.test_users + data.heldout_users
    embeddings.prefetch([path for user in everyone for path in data.preferred_pool(user)],
                        desc="embedding preferred and non-preferred images")
    vectors: dict = {}
    tasks = [(user, count, draw) for user in data.personalized_users for count in settings.counts
             for draw in range(settings.draws)]
    if settings.preferred not in settings.counts:
        tasks += [(user, settings.preferred, 0) for user in data.personalized_users]
    for user, count, draw in tqdm(tasks, desc="preference vectors (schemes 1, 2)", unit="vector"):
        for scheme, vector in scheme_vectors(data, embeddings, user, count, draw).items():
            vectors[user, scheme, count, draw] = vector
    for user in data.train_users:
        vectors[user, "seen-scheme2"] = mean_vector(embeddings(data.preferred_draw(user, settings.preferred, 0)))
    for user in tqdm(data.personalized_users, desc="oracle vectors", unit="user"):
        vectors[user, "oracle"] = oracle_vector(enhancer, data, embeddings, user)
    return vectors


def _jobs(data: ExperimentData, styles: dict, vectors: dict, sweep: bool) -> list[Job]:
    """The PieNet enhancements of one photo; equal vectors (Table 1's row is draw 0 of the sweep) run once."""
    settings, preferred = data.settings, data.settings.preferred
    everyone = data.train_users + data.personalized_users
    mean = mean_vector(torch.stack(list(styles.values())))
    jobs = {id(mean): Job(mean, [("pienet:mean", user, ALL_METRICS) for user in everyone])}

    def add(vector, system, user, names):
        jobs.setdefault(id(vector), Job(vector)).scorings.append((system, user, names))

    for user in data.train_users:
        if user in styles:
            add(styles[user], "pienet:own", user, ALL_METRICS)
            for other in data.train_users:  # style fidelity: is the output nearest to its own user's target?
                add(styles[user], f"fidelity:{user}", other, ("psnr",))
        add(vectors[user, "seen-scheme2"], "pienet:seen-scheme2", user, ALL_METRICS)
    for user in data.personalized_users:
        for scheme in SCHEMES:
            add(vectors[user, scheme, preferred, 0], f"pienet:{scheme}", user, ALL_METRICS)
        add(vectors[user, "oracle"], "pienet:oracle", user, ALL_METRICS)
        if sweep:
            for scheme in SCHEMES:
                for count in settings.counts:
                    for draw in range(settings.draws):
                        add(vectors[user, scheme, count, draw], sweep_system(scheme, count, draw), user,
                            SWEEP_METRICS)
    return list(jobs.values())


def _thumbnail(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return to_uint8(resize_image(image, (max(1, round(width * GRID_HEIGHT / height)), GRID_HEIGHT)))


def _score_photos(enhancer: Enhancer, data: ExperimentData, styles: dict, vectors: dict,
                  classical: list[str]) -> tuple[ScoreBoard, dict, dict]:
    board = ScoreBoard()
    everyone = data.train_users + data.personalized_users
    grid_users, grid = data.grid_users(), {}
    sweep_names = {row["name"] for row in data.sweep_rows}
    spreads: dict[str, dict[str, list[float]]] = {user: {"input": [], "output": [], "target": []}
                                                  for user in MONOCHROME_USERS if user in styles}
    for row in tqdm(data.test_rows, desc="enhancing and scoring test photos", unit="photo"):
        photo = load_image(data.layout.input_path(row))
        targets_by_user = {user: to_tensor(load_image(data.layout.target_path(user, row)), enhancer.device)
                           for user in everyone}
        fixed = [("input", photo, everyone)] + [(f"classical:{name}", STYLES[name](photo), data.personalized_users)
                                                 for name in classical]
        for system, image, users in fixed:
            prediction = to_tensor(image, enhancer.device)
            board.score([(system, user, prediction, targets_by_user[user], ALL_METRICS) for user in users])
        grid_outputs = {}
        jobs = _jobs(data, styles, vectors, sweep=row["name"] in sweep_names)
        for start in range(0, len(jobs), data.settings.batch_size):
            chunk = jobs[start:start + data.settings.batch_size]
            outputs = enhancer.enhance_batch([photo] * len(chunk), [job.vector for job in chunk])
            entries = []
            for job, output in zip(chunk, outputs):
                prediction = to_tensor(output, enhancer.device)
                for system, user, names in job.scorings:
                    entries.append((system, user, prediction, targets_by_user[user], names))
                    if system == "pienet:scheme2" and user in grid_users:
                        grid_outputs[user] = output
                    if system == "pienet:own" and user in spreads:
                        spreads[user]["output"].append(chroma_spread(output))
            board.score(entries)
        for user, values in spreads.items():
            values["input"].append(chroma_spread(photo))
            values["target"].append(chroma_spread(targets_by_user[user].permute(1, 2, 0).cpu().numpy()))
        if row in data.grid_rows:
            grid[row["name"]] = {"input": _thumbnail(photo),
                                 "outputs": {user: _thumbnail(grid_outputs[user]) for user in grid_users},
                                 "targets": {user: _thumbnail(targets_by_user[user].permute(1, 2, 0).cpu().numpy())
                                             for user in grid_users}}
    monochrome = {user: {name: float(np.mean(values)) for name, values in by_kind.items()}
                  for user, by_kind in spreads.items()}
    return board, grid, monochrome


def _table(board: ScoreBoard, data: ExperimentData, classical: list[str]) -> list[dict]:
    preferred = min(data.settings.preferred, len(data.pool_rows))
    ratio = data.settings.negatives_per_preferred
    rows = [("input", "Input (no enhancement)"),
            *((f"classical:{name}", f"Fixed classical method: {name}" + (" †" if name in data.test_users else ""))
              for name in classical),
            ("pienet:mean", "PieNet, non-personalized (normalised mean of the training users' vectors)"),
            ("pienet:own", "PieNet, each training user's stored vector"),
            ("pienet:seen-scheme2", f"PieNet, training users, scheme 2 from {preferred} of their retouches"),
            ("pienet:scheme2", f"PieNet, scheme 2 ({preferred} preferred)"),
            ("pienet:scheme1", f"PieNet, scheme 1 ({preferred} preferred + {ratio * preferred} non-preferred "
                               "of the same photos)"),
            ("pienet:oracle", "PieNet, oracle vector (fitted to the user's ground truth)")]
    return [{"system": system, "method": label,
             **{group: board.summary(system, users) for group, users in data.groups.items()}}
            for system, label in rows]


def _sweep(board: ScoreBoard, data: ExperimentData) -> dict:
    pool = len(data.pool_rows)
    result = {}
    for group in ("unseen", "heldout"):
        users = data.groups[group]
        if not users:
            continue
        result[group] = {}
        for scheme in SCHEMES:
            result[group][scheme] = {}
            for count in data.settings.counts:
                draws = [board.summary(sweep_system(scheme, count, draw), users)
                         for draw in range(data.settings.draws)]
                result[group][scheme][str(count)] = {
                    "effective_count": min(count, pool),
                    **{f"m{name}": [summary[f"m{name}"] for summary in draws] for name in SWEEP_METRICS}}
    return result


def run_experiments(enhancer: Enhancer, checkpoint, data_dir, out_dir, settings: ExperimentSettings) -> dict:
    """Run everything, write ``metrics.json``, ``report.md`` and the figures into ``out_dir``; returns the
    metrics document."""
    from ml.experiments.figures import draw_figures
    from ml.experiments.report import write_report

    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if enhancer.pienet is None:
        raise ValueError("The checkpoint holds only the embedding network (stage 1); experiments need PieNet.")
    data = ExperimentData(data_dir, settings)
    styles = {user: enhancer.styles[user] for user in data.train_users if user in enhancer.styles}
    if not styles:
        raise ValueError("None of the dataset's training users has a vector in the checkpoint; "
                         "was it trained on another dataset?")
    classical = sorted(name for name, style in STYLES.items() if style.family == "classical")
    embeddings = EmbeddingCache(enhancer, batch_size=settings.batch_size * 2)
    vectors = _table_vectors(enhancer, data, embeddings)
    seconds = {"vectors": time.perf_counter() - started}
    board, grid, monochrome = _score_photos(enhancer, data, styles, vectors, classical)
    seconds["enhance_and_score"] = time.perf_counter() - started - seconds["vectors"]
    table = _table(board, data, classical)
    checks = embedding_checks(embeddings, data_dir, settings.preferred, settings.draws, settings.seed, data.pool_rows)
    fidelity = style_fidelity(board, [user for user in data.train_users if user in styles])
    sweep = _sweep(board, data)
    results = {
        "checkpoint": {"path": str(checkpoint), "sha256": file_sha256(checkpoint),
                       "config": enhancer.config.to_dict(), "device": str(enhancer.device),
                       "precision": PRECISION_NAMES.get(enhancer.autocast_dtype, str(enhancer.autocast_dtype))},
        "data": str(data.layout.root),
        "settings": {**asdict(settings), "counts": list(settings.counts)},
        "photos": {"table1": len(data.test_rows), "sweep": len(data.sweep_rows),
                   "sweep_collections": sorted({row["collection"] for row in data.sweep_rows}),
                   "preferred_pool": len(data.pool_rows), "training_users_scored": len(styles),
                   "unseen_users": len(data.test_users), "heldout_users": len(data.heldout_users)},
        "table1": table,
        "fig6": sweep,
        "fig8": checks["unseen named users"]["silhouette"],
        "embedding_checks": checks,
        "style_fidelity": fidelity,
        "monochrome": monochrome,
        "targets": targets(table, sweep, checks, fidelity, monochrome, settings.preferred),
        "images_embedded": len(embeddings),
    }
    figures = draw_figures(results, grid, data.grid_users(), out_dir)
    results["figures"] = figures
    results["seconds"] = {name: round(value, 1) for name, value in
                          {**seconds, "total": time.perf_counter() - started}.items()}
    (out_dir / "metrics.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    write_report(results, out_dir / "report.md")
    return results
