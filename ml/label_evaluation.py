"""Does a model serve the people who gave the labels? Evaluation on the held-out part of a label dataset.

For every participant, the vector is what the platform would compute for them with this model: the mean of
the embeddings of their *training* picks (scheme 2). Then

* ranking — AUC of the held-out picks against the held-out non-picks, scored by closeness to the vector
  (minus the squared distance of the triplet loss): 1.0 ranks every held-out pick first, 0.5 is chance;
* fidelity — PSNR of PieNet's enhancement of each held-out pick's photo with the vector against the rendering
  the participant picked; ``identity_psnr`` is the untouched photo against it, the floor to beat.

Summaries are means over participants (each participant counts once, as mPSNR does for users), with ``None``
where nothing could be measured, so the result is plain JSON.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ml.data.labels import LabelDataset, LabelSplit
from ml.images import load_image
from ml.inference import Enhancer
from ml.losses import squared_distance
from ml.metrics import psnr
from ml.personalize import mean_vector

MAX_PSNR = 100.0  # identical images have infinite PSNR; capped so that means stay finite


def auc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    positives, negatives = np.asarray(positive_scores, float), np.asarray(negative_scores, float)
    if positives.size == 0 or negatives.size == 0:
        raise ValueError("AUC needs at least one positive and one negative score.")
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (positives.size * negatives.size))


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    value = psnr(prediction, target)
    return MAX_PSNR if not math.isfinite(value) else min(value, MAX_PSNR)


def evaluate_heldout(enhancer: Enhancer, labels: LabelDataset, split: LabelSplit) -> dict:
    """AUC and PSNR per participant on ``split.heldout`` and their means (see the module docstring)."""
    per_participant = {}
    for train, heldout in zip(split.train, split.heldout):
        if train.kind != "participant" or not train.positives:
            continue
        vector = mean_vector(enhancer.embed([labels.image_path(key) for key in train.positives]))
        entry: dict = {"heldout_positives": len(heldout.positives), "heldout_negatives": len(heldout.negatives)}
        if heldout.positives and heldout.negatives:
            scores = [-squared_distance(vector, enhancer.embed([labels.image_path(key) for key in keys]))
                      for keys in (heldout.positives, heldout.negatives)]
            entry["auc"] = auc(scores[0].tolist(), scores[1].tolist())
        if heldout.pairs and enhancer.pienet is not None:
            enhanced, identity = [], []
            for source_key, target_key in heldout.pairs:
                source, target = load_image(labels.image_path(source_key)), load_image(labels.image_path(target_key))
                enhanced.append(_psnr(enhancer.enhance(source, vector), target))
                identity.append(_psnr(source, target))
            entry.update(psnr=_mean(enhanced), identity_psnr=_mean(identity), pairs=len(heldout.pairs))
        per_participant[train.name] = entry
    entries = per_participant.values()
    return {
        "participants": len(per_participant),
        "auc": _mean([entry["auc"] for entry in entries if "auc" in entry]),
        "auc_participants": sum("auc" in entry for entry in entries),
        "psnr": _mean([entry["psnr"] for entry in entries if "psnr" in entry]),
        "identity_psnr": _mean([entry["identity_psnr"] for entry in entries if "identity_psnr" in entry]),
        "psnr_pairs": sum(entry.get("pairs", 0) for entry in entries),
        "per_participant": per_participant,
    }
