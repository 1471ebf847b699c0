"""The v2 issue's targets, each computed from the experiments' numbers, and the two checks they need besides the
tables: style fidelity of the named users and how monochrome the monochrome looks come out.

Every target compares PieNet given a user's vector with something that does not know the user (the input, the
best fixed method, the shared mean vector) or with the user's own ground truth, so a model that ignored its
preference vector would fail them.
"""

from __future__ import annotations

import numpy as np

from ml.styles import ops

IDENTIFICATION_TARGET = 0.8
SILHOUETTE_TARGET = 0.2
MONOCHROME_SPREAD = 4.0
"""Chroma spread (in 8-bit levels) below which a picture reads as monochrome (a toned one included)."""


def chroma_spread(image: np.ndarray) -> float:
    """How much the colours of a picture differ from each other: the standard deviation of its chroma (Cb, Cr)
    around their mean, in 8-bit levels. A grey or uniformly toned (sepia) picture is near 0, a colour photo
    10–40."""
    ycc = ops.to_ycc(np.asarray(image, dtype=np.float32))
    chroma = ycc[..., 1:].reshape(-1, 2)
    return float(np.sqrt(chroma.var(axis=0).sum()) * 255.0)


def style_fidelity(board, users: list[str]) -> dict:
    """For each named training user: mPSNR of PieNet (stored vector) against its own target and against the
    nearest other user's target; faithful when its own is the closest."""
    rows = {}
    for user in users:
        summary = board.summary(f"fidelity:{user}", users)
        if summary is None:
            continue
        scores = {other: values["psnr"] for other, values in summary["users"].items()}
        own = scores.pop(user)
        nearest = max(scores, key=scores.get) if scores else None
        rows[user] = {"own_psnr": own, "nearest_other": nearest,
                      "nearest_other_psnr": scores.get(nearest), "faithful": nearest is None or own > scores[nearest]}
    return {"users": rows, "faithful": sum(row["faithful"] for row in rows.values()), "of": len(rows)}


def _row(table: list[dict], system: str, group: str) -> float | None:
    for row in table:
        if row["system"] == system and row.get(group):
            return row[group]["mpsnr"]
    return None


def _check(name: str, value: float | None, relation: str, threshold: float, unit: str = "dB") -> dict:
    passed = value is not None and (value >= threshold if relation == "≥" else value <= threshold)
    return {"target": name, "value": None if value is None else round(float(value), 3),
            "required": f"{relation} {threshold}", "unit": unit, "passed": bool(passed)}


def targets(table: list[dict], sweep: dict, checks: dict, fidelity: dict, monochrome: dict,
            preferred: int) -> list[dict]:
    """The targets of the unseen named users with scheme 2 from ``preferred`` picks, and the rest of the list."""
    scheme2, mean = _row(table, "pienet:scheme2", "unseen"), _row(table, "pienet:mean", "unseen")
    oracle = _row(table, "pienet:oracle", "unseen")
    classical = {row["system"]: row["unseen"]["mpsnr"] for row in table
                 if row["system"].startswith("classical:") and row.get("unseen")}
    results = []
    if classical:
        best = max(classical, key=classical.get)
        results.append(_check(f"scheme 2 − best fixed method ({best.split(':', 1)[1]})",
                              scheme2 - classical[best], "≥", 2.0))
    results.append(_check("scheme 2 − shared mean vector", scheme2 - mean, "≥", 1.5))
    share = (scheme2 - mean) / (oracle - mean) if oracle is not None and oracle - mean > 1e-6 else None
    results.append(_check("personalization share (scheme 2 − mean) / (oracle − mean)", share, "≥", 0.6, ""))
    own, seen = _row(table, "pienet:own", "training"), _row(table, "pienet:seen-scheme2", "training")
    if own is not None and seen is not None:
        results.append(_check("seen users: stored vector − scheme 2", own - seen, "≤", 0.5))
    curve = sweep.get("unseen", {}).get("scheme2", {})
    if "1" in curve and str(preferred) in curve:
        rise = np.mean(curve[str(preferred)]["mpsnr"]) - np.mean(curve["1"]["mpsnr"])
        results.append(_check(f"Fig. 6 rise from 1 to {preferred} picks (scheme 2)", rise, "≥", 1.0))
    named = checks.get("unseen named users")
    if named:
        results.append(_check(f"unseen users identified from {named['identification']['picks']} picks "
                              "(nearest centroid)", named["identification"]["accuracy"], "≥",
                              IDENTIFICATION_TARGET, "share"))
        results.append(_check("t-SNE silhouette of the unseen users", named["silhouette"]["silhouette_tsne"], "≥",
                              SILHOUETTE_TARGET, ""))
    if fidelity["of"]:
        results.append(_check("named training users whose output is closest to their own target",
                              fidelity["faithful"], "≥", fidelity["of"], "users"))
    for user, spread in monochrome.items():
        results.append(_check(f"{user} output is monochrome (chroma spread; input {spread['input']:.1f})",
                              spread["output"], "≤", MONOCHROME_SPREAD, "levels"))
    return results
