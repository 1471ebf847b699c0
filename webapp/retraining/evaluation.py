"""Evaluation of a run's candidate beside the active model (held-out labels, the unseen-user benchmark),
the registry's public copy of the metrics, and the auto-promotion policy. Reads only: the runner writes."""

from pathlib import Path

from django.conf import settings

from ml.data.datasets import DatasetError, FiveKLayout
from ml.data.labels import LabelDataset
from webapp.core import selectors as core_selectors
from webapp.core.model_runtime import enhancer_for


def _benchmark(models: dict) -> dict:
    """The unseen-user benchmark (ml.evaluation on the configured dataset's test users), when configured."""
    from ml.evaluation import evaluate as evaluate_benchmark

    data_dir = settings.PIENET_RETRAIN_BENCHMARK_DIR
    if not data_dir:
        return {"skipped": "No unseen-user benchmark: PIENET_RETRAIN_BENCHMARK_DIR is not set."}
    try:
        users = FiveKLayout.open(data_dir).test_users
    except DatasetError as error:
        return {"skipped": f"The unseen-user benchmark could not be read: {error}"}
    results = {"data": data_dir, "users": users, "limit": settings.PIENET_RETRAIN_BENCHMARK_LIMIT}
    for role, enhancer in models.items():
        summary = evaluate_benchmark(
            enhancer, data_dir, split="test", users=users, limit=settings.PIENET_RETRAIN_BENCHMARK_LIMIT
        )
        results[role] = {name: summary[name] for name in ("mpsnr", "mssim", "mdelta_e")}
    return results


def evaluate(*, checkpoint: Path, labels: LabelDataset, split, reporter) -> dict:
    """The candidate and the model active now, side by side: held-out labels, then the benchmark.
    `reporter` is the run's `runner.Reporter` (progress of the "evaluation" stage)."""
    from ml.inference import Enhancer
    from ml.label_evaluation import evaluate_heldout

    active = core_selectors.active_model_version()
    models = {"candidate": Enhancer.from_checkpoint(checkpoint, device=settings.PIENET_DEVICE)}
    if active is not None:
        models["active"] = enhancer_for(active)
    heldout = {}
    for index, (role, enhancer) in enumerate(models.items()):
        heldout[role] = evaluate_heldout(enhancer, labels, split)
        reporter.progress("evaluation", 0.5 * (index + 1) / len(models), force=True)
    benchmark = _benchmark(models)
    return {
        "active_version": active.name if active is not None else None,
        "split": split.counts(),
        "heldout": heldout,
        "benchmark": benchmark,
    }


def public_metrics(metrics: dict) -> dict:
    """The registry's copy: summaries only (per-participant results name participants; they stay in the run)."""
    heldout = {
        role: {name: value for name, value in result.items() if name != "per_participant"}
        for role, result in metrics["heldout"].items()
    }
    return {**metrics, "heldout": heldout}


def auto_promote_decision(metrics: dict, margin: float) -> tuple[bool, str]:
    """Promote by itself only when the candidate's held-out PSNR beats the active model's by `margin` dB and
    its held-out AUC is not lower (a model that renders better but ranks worse is left to an admin)."""
    candidate, active = metrics["heldout"]["candidate"], metrics["heldout"].get("active")
    if active is None:
        return True, "no model was active"
    if candidate["psnr"] is None or active["psnr"] is None:
        return False, "held-out PSNR could not be measured"
    gain = candidate["psnr"] - active["psnr"]
    if gain < margin:
        return False, f"held-out PSNR gain {gain:+.2f} dB is below the margin of {margin:g} dB"
    if candidate["auc"] is not None and active["auc"] is not None and candidate["auc"] < active["auc"]:
        return False, f"held-out AUC fell from {active['auc']:.3f} to {candidate['auc']:.3f}"
    return True, f"held-out PSNR gain {gain:+.2f} dB reaches the margin of {margin:g} dB, AUC not lower"
