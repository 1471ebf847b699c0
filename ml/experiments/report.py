"""The markdown report of an experiments run, written from its metrics document only (so it can be regenerated
from metrics.json)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _cell(summary: dict | None, metric: str, digits: int) -> str:
    if not summary or f"m{metric}" not in summary:
        return "–"
    return f"{summary[f'm{metric}']:.{digits}f}"


def _table1(results: dict) -> list[str]:
    lines = ["| method | unseen mPSNR | unseen mSSIM | unseen mΔE | training mPSNR | training mSSIM | training mΔE |",
             "|---|---|---|---|---|---|---|"]
    for row in results["table1"]:
        cells = [_cell(row[group], metric, digits) for group in ("unseen", "training")
                 for metric, digits in (("psnr", 2), ("ssim", 4), ("delta_e", 2))]
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    return lines


def _mean_and_spread(values: list[float], digits: int) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def _fig6(results: dict) -> list[str]:
    lines = ["| preferred images | scheme 2 mPSNR | scheme 1 mPSNR | scheme 2 mSSIM | scheme 1 mSSIM |",
             "|---|---|---|---|---|"]
    sweep = results["fig6"]
    for count, entry in sweep["scheme2"].items():
        shown = count if entry["effective_count"] == int(count) else f"{count} (pool: {entry['effective_count']})"
        cells = [_mean_and_spread(sweep[scheme][count][metric], digits)
                 for metric, digits in (("mpsnr", 2), ("mssim", 4)) for scheme in ("scheme2", "scheme1")]
        lines.append(f"| {shown} | " + " | ".join(cells) + " |")
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
        f"- data: `{results['data']}`; {photos['table1']} test photos for Table 1, {photos['sweep']} of them for "
        f"Fig. 6; {photos['unseen_users']} unseen users, {photos['training_users_scored']} training users; "
        f"preferred images drawn from {photos['preferred_pool']} train-split photos per user",
        f"- seed {settings['seed']}; {results['images_embedded']} images embedded; "
        f"{results['seconds']['total']:.0f} s in all",
        "",
        "## Targets (unseen users, scheme 2, %d preferred images)" % preferred,
        "",
        "| target | value (dB) | required (dB) | result |",
        "|---|---|---|---|",
    ]
    lines += [f"| {t['target']} | {t['value_db']:.2f} | {t['required_db']} | {'PASS' if t['passed'] else 'FAIL'} |"
              for t in results["targets"]]
    lines += [
        "",
        "## Table 1 analogue: quality on the test photos",
        "",
        "*Unseen* columns average over the unseen users (each against their own retouches), *training* columns "
        "over the training users. The input and the non-personalized PieNet are the same image for everyone. "
        "Fixed classical methods are applied to the input as they are and scored against every unseen user; "
        "† marks methods that are themselves unseen users. Scheme 2 averages the embeddings of the preferred "
        f"images; scheme 1 fits the vector with the triplet loss against {settings['negatives_per_preferred']}× "
        "as many non-preferred images by other users. The oracle vector minimizes PieNet's MSE against "
        f"{settings['oracle_pairs']} of the user's own train-split retouches ({settings['oracle_steps']} Adam "
        "steps, our definition): an upper bound for any vector with this PieNet.",
        "",
        *_table1(results),
        "",
        "## Fig. 6 analogue: unseen users against the number of preferred images",
        "",
        f"Mean ± standard deviation over {settings['draws']} random draws of the preferred (and, for scheme 1, "
        "non-preferred) images.",
        "",
        f"![Fig. 6]({results['figures']['fig6']})",
        "",
        *_fig6(results),
        "",
        "## Fig. 7 analogue: personalized results and ground truths",
        "",
        f"![Fig. 7]({results['figures']['fig7']})",
        "",
        "## Fig. 8 analogue: the embedding space",
        "",
        f"{results['fig8']['images_per_user']} retouches per unseen user, t-SNE (perplexity "
        f"{results['fig8']['perplexity']:.0f}). Silhouette of the users' clusters in the embedding space "
        "(cosine; 1 = perfectly separated, 0 = overlapping): "
        + (f"{results['fig8']['silhouette_cosine']:.3f}." if results["fig8"]["silhouette_cosine"] is not None
           else "– (needs at least two users)."),
        "",
        f"![Fig. 8]({results['figures']['fig8']})",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
