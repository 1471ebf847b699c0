"""PNG figures of the experiments (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

SCHEME_LABELS = {"scheme2": "scheme 2 (mean)", "scheme1": "scheme 1 (triplet fit)"}
GROUP_TITLES = {"unseen": "unseen named users", "heldout": "held-out random users"}


def _fig6(sweep: dict, path: Path) -> None:
    """Bars of mPSNR against the number of preferred images, mean ± std over the draws (Fig. 6), one panel per
    group of new users (the unseen named users, the held-out random users)."""
    figure, axes = plt.subplots(1, len(sweep), figsize=(5.5 * len(sweep), 4), squeeze=False)
    for axis, (group, by_scheme) in zip(axes[0], sweep.items()):
        counts = list(next(iter(by_scheme.values())))
        positions = np.arange(len(counts))
        width = 0.8 / len(by_scheme)
        for offset, (scheme, by_count) in enumerate(by_scheme.items()):
            values = [by_count[count]["mpsnr"] for count in counts]
            axis.bar(positions + (offset - (len(by_scheme) - 1) / 2) * width, [np.mean(v) for v in values], width,
                     yerr=[np.std(v) for v in values], capsize=3, label=SCHEME_LABELS.get(scheme, scheme))
        lows = [min(min(by_count[count]["mpsnr"]) for by_count in by_scheme.values()) for count in counts]
        highs = [max(max(by_count[count]["mpsnr"]) for by_count in by_scheme.values()) for count in counts]
        margin = 0.15 * (max(highs) - min(lows) or 1.0)
        axis.set_ylim(min(lows) - margin, max(highs) + margin)
        axis.set_xticks(positions, counts)
        axis.set_xlabel("number of preferred images")
        axis.set_ylabel("mPSNR (dB)")
        axis.set_title(GROUP_TITLES.get(group, group))
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _fig8(tsne: dict, path: Path) -> None:
    """t-SNE of the unseen users' retouches in the embedding space, one colour per user (Fig. 8)."""
    points, labels = np.asarray(tsne["points"]), np.asarray(tsne["labels"])
    figure, axis = plt.subplots(figsize=(7, 6))
    colours = plt.get_cmap("tab10" if len(set(labels)) <= 10 else "tab20")
    for index, user in enumerate(dict.fromkeys(labels)):
        chosen = labels == user
        axis.scatter(points[chosen, 0], points[chosen, 1], s=12, color=colours(index), label=user)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(f"Embeddings of {tsne['images_per_user']} retouches per unseen user (t-SNE)")
    axis.legend(fontsize=7, markerscale=1.5, loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _grid(grid: dict, users: list[str], path: Path) -> None:
    """Per test photo: the input, then PieNet (scheme 2) and the ground truth for each of the users (Fig. 7)."""
    columns = 1 + 2 * len(users)
    figure, axes = plt.subplots(len(grid), columns, figsize=(1.9 * columns, 1.9 * len(grid) + 0.4), squeeze=False)
    titles = ["input"] + [f"{kind}\n{user}" for user in users for kind in ("PieNet", "ground truth")]
    for row_axes, pictures in zip(axes, grid.values()):
        images = [pictures["input"]]
        for user in users:
            images += [pictures["outputs"][user], pictures["targets"][user]]
        for axis, image in zip(row_axes, images):
            axis.imshow(image)
            axis.set_xticks([])
            axis.set_yticks([])
    for axis, title in zip(axes[0], titles):
        axis.set_title(title, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def draw_figures(results: dict, grid: dict, grid_users: list[str], out_dir: Path) -> dict[str, str]:
    """Write the figures; returns their file names by figure."""
    names = {"fig6": "fig6_preferred_images.png", "fig8": "fig8_tsne.png", "fig7": "fig7_picture_grid.png"}
    _fig6(results["fig6"], out_dir / names["fig6"])
    _fig8(results["fig8"], out_dir / names["fig8"])
    _grid(grid, grid_users, out_dir / names["fig7"])
    return names
