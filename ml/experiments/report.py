"""The markdown report of an experiments run, written from its metrics document only (so it can be regenerated
from metrics.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GROUPS = (("unseen", "unseen named"), ("heldout", "held-out random"), ("training", "training (seen)"))


def _cell(summary: dict | None, metric: str, digits: int) -> str:
    if not summary or f"m{metric}" not in summary:
        return "–"
    return f"{summary[f'm{metric}']:.{digits}f}"


def _table1(results: dict) -> list[str]:
    groups = [(key, label) for key, label in GROUPS if any(row.get(key) for row in results["table1"])]
    header = ["method"] + [f"{label} mPSNR" for _, label in groups] + ["unseen mSSIM", "unseen mΔE"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in results["table1"]:
        cells = [_cell(row.get(key), "psnr", 2) for key, _ in groups]
        cells += [_cell(row.get("unseen"), "ssim", 4), _cell(row.get("unseen"), "delta_e", 2)]
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    return lines


def _mean_and_spread(values: list[float], digits: int) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def _fig6(results: dict) -> list[str]:
    sweep = results["fig6"]
    groups = [(key, label) for key, label in GROUPS if key in sweep]
    header = ["preferred images"] + [f"{label}, {scheme}" for _, label in groups for scheme in ("scheme 2", "scheme 1")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    first = sweep[groups[0][0]]["scheme2"]
    for count, entry in first.items():
        shown = count if entry["effective_count"] == int(count) else f"{count} (pool: {entry['effective_count']})"
        cells = [_mean_and_spread(sweep[key][scheme][count]["mpsnr"], 2) for key, _ in groups
                 for scheme in ("scheme2", "scheme1")]
        lines.append(f"| {shown} | " + " | ".join(cells) + " |")
    return lines


def _targets(results: dict) -> list[str]:
    lines = ["| target | measured | required | result |", "|---|---|---|---|"]
    for target in results["targets"]:
        value = "–" if target["value"] is None else f"{target['value']:.2f} {target['unit']}".strip()
        lines.append(f"| {target['target']} | {value} | {target['required']} {target['unit']} | "
                     f"{'PASS' if target['passed'] else 'FAIL'} |")
    return lines


def _embedding(results: dict) -> list[str]:
    lines = ["| group | identified from picks (chance) | cos same photo, other user | cos same user, other photo "
             "| silhouette (embeddings, cosine) | silhouette (t-SNE) |", "|---|---|---|---|---|---|"]
    for group, values in results["embedding_checks"].items():
        ident, cosines, silhouette = values["identification"], values["style_or_content"], values["silhouette"]
        lines.append(f"| {group} | {ident['accuracy']:.0%} from {ident['picks']} ({ident['chance']:.0%}) | "
                     f"{cosines['same_photo_other_user']:.3f} | {cosines['same_user_other_photo']:.3f} | "
                     f"{silhouette['silhouette_cosine']:.3f} | {silhouette['silhouette_tsne']:.3f} |")
    return lines


def _fidelity(results: dict) -> list[str]:
    fidelity = results["style_fidelity"]
    lines = [f"{fidelity['faithful']} of {fidelity['of']} named training users come out closest to their own "
             "target (mPSNR of PieNet with the user's stored vector against each user's ground truth).", "",
             "| user | own target mPSNR | nearest other user | its mPSNR | faithful |", "|---|---|---|---|---|"]
    for user, row in fidelity["users"].items():
        other = "–" if row["nearest_other_psnr"] is None else f"{row['nearest_other_psnr']:.2f}"
        lines.append(f"| {user} | {row['own_psnr']:.2f} | {row['nearest_other'] or '–'} | {other} | "
                     f"{'yes' if row['faithful'] else 'no'} |")
    return lines


def _monochrome(results: dict) -> list[str]:
    lines = ["| look | chroma spread of the input | of PieNet's output | of the ground truth |", "|---|---|---|---|"]
    for user, spread in results["monochrome"].items():
        lines.append(f"| {user} | {spread['input']:.1f} | {spread['output']:.1f} | {spread['target']:.1f} |")
    return lines


def _study(results: dict) -> list[str]:
    study = results.get("simulated_study")
    if not study:
        return ["Not run with this report (`manage.py simulate_study` writes its tally; see docs/experiments)."]
    lines = [study.get("description", ""), "", "| method | votes | share | Holm p (vs. PieNet personal) |",
             "|---|---|---|---|"]
    for row in study["methods"]:
        p_value = "–" if row.get("holm_p") is None else f"{row['holm_p']:.3g}"
        lines.append(f"| {row['label']} | {row['votes']} | {row['share']:.1%} | {p_value} |")
    return lines


def write_report(results: dict, path: Path) -> None:
    settings, photos, checkpoint = results["settings"], results["photos"], results["checkpoint"]
    preferred = min(settings["preferred"], photos["preferred_pool"])
    lines = [
        "# PieNet experiments (Table 1, Fig. 6, Fig. 7, Fig. 8 of the paper, at our scale)",
        "",
        f"- checkpoint: `{checkpoint['path']}` (sha256 `{checkpoint['sha256'][:16]}…`), sizes "
        f"embed {checkpoint['config']['embed_size']} px / PieNet {checkpoint['config']['pienet_size']} px, "
        f"on {checkpoint['device']} in {checkpoint['precision']}",
        f"- data: `{results['data']}`; {photos['table1']} test photos for Table 1 (collections in turn), "
        f"{photos['sweep']} distinct photos from {', '.join(photos['sweep_collections'])} for Fig. 6; "
        f"{photos['unseen_users']} unseen named users, {photos['heldout_users']} held-out random users, "
        f"{photos['training_users_scored']} training users; preferred images drawn from "
        f"{photos['preferred_pool']} distinct train-split photos per user",
        f"- seed {settings['seed']}; {results['images_embedded']} images embedded; "
        f"{results['seconds']['total']:.0f} s in all",
        "",
        f"## Targets (unseen named users, scheme 2, {preferred} preferred images)",
        "",
        *_targets(results),
        "",
        "## Table 1 analogue: quality on the test photos",
        "",
        "Each group's column averages over its users, each against their own retouches. Fixed classical methods "
        "are applied to the input as they are and scored against the new users; † marks methods that are "
        "themselves unseen users. Scheme 2 averages the embeddings of the preferred images (renormalised); "
        f"scheme 1 fits the vector with the triplet loss against {settings['negatives_per_preferred']} other "
        "users' versions of each preferred photo. Training users' scheme 2 uses their own retouches of train "
        "photos, beside their stored vectors. The oracle vector minimizes PieNet's MSE against "
        f"{settings['oracle_pairs']} of the user's own train-split retouches ({settings['oracle_steps']} Adam "
        "steps, our definition): an upper bound for any vector with this PieNet.",
        "",
        *_table1(results),
        "",
        "## Fig. 6 analogue: new users against the number of preferred images",
        "",
        f"mPSNR, mean ± standard deviation over {settings['draws']} random draws of the preferred (and, for "
        "scheme 1, non-preferred) images.",
        "",
        f"![Fig. 6]({results['figures']['fig6']})",
        "",
        *_fig6(results),
        "",
        "## Style fidelity of the named training users",
        "",
        *_fidelity(results),
        "",
        "## Monochrome looks",
        "",
        *_monochrome(results),
        "",
        "## Fig. 7 analogue: personalized results and ground truths",
        "",
        f"![Fig. 7]({results['figures']['fig7']})",
        "",
        "## Fig. 8 analogue and the embedding checks",
        "",
        "Identification: the mean embedding of the picks is matched to the nearest centroid of the group's users "
        "(each made from the user's other pictures). Cosines: an embedding of taste puts one user's look on two "
        "photos closer than one photo in two users' looks.",
        "",
        *_embedding(results),
        "",
        f"![Fig. 8]({results['figures']['fig8']})",
        "",
        "## Simulated study",
        "",
        *_study(results),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def add_simulated_study(folder: Path, study: dict) -> None:
    """Put a simulated study's tally (``bench/simulated_study.py``) into the experiments report in ``folder``
    (its ``metrics.json`` and ``report.md``): the study and the experiments of one checkpoint in one report."""
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    metrics["simulated_study"] = study
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    write_report(metrics, folder / "report.md")
