"""The tally's statistics, written out from their formulas (numpy and SciPy's distributions only) so
that the tests can check them against SciPy's and statsmodels' own implementations.

Every trial shows all k methods, so a vote is one draw from a k-way choice:
* each method's share of the votes gets a Wilson score interval;
* a chi-square goodness-of-fit test asks whether all shares are equal (1/k);
* pairwise, the votes that went to i or j are binomial with p = 1/2 when i and j are equally liked
  (the conditional test of two multinomial cells), two-sided exact, Holm-corrected over all pairs;
* a top-1 Plackett–Luce (multinomial logit) and a Bradley–Terry model (the winner beats each other
  option) are fitted by Newton's method on count summaries (checked against `choix` in the tests),
  with intervals from a bootstrap over participants (votes of one person are not independent, so
  whole participants are resampled; all resamples are fitted together as one batch);
* the chosen positions are tested against uniform: every position shows a method in every trial.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there is no data."""
    if total == 0:
        return 0.0, 1.0
    z = stats.norm.ppf(0.5 + confidence / 2)
    share = successes / total
    denominator = 1 + z**2 / total
    centre = (share + z**2 / (2 * total)) / denominator
    half = z / denominator * np.sqrt(share * (1 - share) / total + z**2 / (4 * total**2))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def chi_square_uniform(counts) -> tuple[float, int, float]:
    """Pearson's chi-square against equal expected counts: (statistic, degrees of freedom, p)."""
    counts = np.asarray(counts, dtype=float)
    total, cells = counts.sum(), len(counts)
    if total == 0 or cells < 2:
        return 0.0, max(0, cells - 1), 1.0
    expected = total / cells
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return statistic, cells - 1, float(stats.chi2.sf(statistic, cells - 1))


def binomial_two_sided(successes: int, trials: int) -> float:
    """Exact two-sided binomial test of p = 1/2: twice the smaller tail (the distribution is symmetric)."""
    if trials == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(successes, trials - successes), trials, 0.5)))


def holm(p_values) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down; monotone; capped at 1), in the input order."""
    p_values = np.asarray(p_values, dtype=float)
    count = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(count)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted.tolist()


@dataclass
class Choice:
    """One counted vote: who voted, which method won, which methods were the other options."""

    participant: str
    winner: int
    losers: tuple[int, ...]
    position: int


def _maximize(objective, batch: int, size: int, iterations: int = 100) -> np.ndarray:
    """Damped Newton ascent of `batch` concave log-likelihoods at once (the bootstrap's refits in one go).

    The log-strengths only matter through differences, so each Hessian is singular along the all-ones
    direction; adding that direction's outer product makes the system solvable with steps of mean 0.
    """
    theta = np.zeros((batch, size))
    value, gradient, hessian = objective(theta)
    ones = np.ones((size, size))
    for _ in range(iterations):
        step = np.linalg.solve(ones - hessian, gradient[..., None])[..., 0]
        scale = np.ones(batch)
        for _ in range(30):  # halve the step wherever the likelihood would go down
            candidate = theta + scale[:, None] * step
            new_value, new_gradient, new_hessian = objective(candidate)
            worse = new_value < value - 1e-9 * np.abs(value)
            if not worse.any():
                break
            scale[worse] /= 2
        theta, value, gradient, hessian = candidate, new_value, new_gradient, new_hessian
        if np.abs(scale[:, None] * step).max() < 1e-10:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def plackett_luce_top1(wins: np.ndarray, offered: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """Top-1 Plackett–Luce (multinomial logit) log-strengths, maximum likelihood, for a batch of data sets.

    The data come as kinds of choice sets: `offered` (kinds × items) marks which items each kind holds,
    `wins` (batch × kinds × items) counts how often each item won in that kind of set. `alpha`
    pseudo-wins for every item in every kind of set keep a method without votes finite. Returns
    (batch × items) scores centred on 0.
    """
    counts = wins + alpha * offered
    totals = counts.sum(axis=2)
    mask = offered[None, :, :] > 0

    def objective(theta):
        logits = np.where(mask, theta[:, None, :], -np.inf)
        normalizer = np.logaddexp.reduce(logits, axis=2)
        shares = np.exp(logits - normalizer[..., None])
        value = (counts * np.where(mask, theta[:, None, :], 0)).sum(axis=(1, 2)) - (totals * normalizer).sum(axis=1)
        expected = np.einsum("bk,bki->bi", totals, shares)
        hessian = np.einsum("bk,bki,bkj->bij", totals, shares, shares) - _diagonal(expected)
        return value, counts.sum(axis=1) - expected, hessian

    return _maximize(objective, *wins.shape[::2])


def bradley_terry(beats: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """Bradley–Terry log-strengths, maximum likelihood, for a batch of (items × items) win counts
    (`beats[b, i, j]`: i beat j). `alpha` pseudo-wins per ordered pair keep a method that never won
    finite. Returns (batch × items) scores centred on 0."""
    size = beats.shape[1]
    counts = beats + alpha * (1 - np.eye(size))
    games = counts + counts.transpose(0, 2, 1)

    def objective(theta):
        difference = theta[:, :, None] - theta[:, None, :]
        win = 1 / (1 + np.exp(-difference))
        value = (counts * -np.logaddexp(0, -difference)).sum(axis=(1, 2))
        weights = games * win * (1 - win)
        return value, (counts - games * win).sum(axis=2), weights - _diagonal(weights.sum(axis=2))

    return _maximize(objective, len(beats), size)


def _diagonal(values: np.ndarray) -> np.ndarray:
    return values[..., None] * np.eye(values.shape[-1])


def _summaries(method_count: int, choices: list[Choice]):
    """Per participant: top-1 counts by kind of choice set, and pairwise win counts (winner beats each loser)."""
    kinds: dict[tuple[int, ...], int] = {}
    for choice in choices:
        kinds.setdefault(tuple(sorted((choice.winner, *choice.losers))), len(kinds))
    offered = np.zeros((len(kinds), method_count))
    for members, row in kinds.items():
        offered[row, list(members)] = 1
    people: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for choice in choices:
        wins, beats = people.setdefault(
            choice.participant, (np.zeros((len(kinds), method_count)), np.zeros((method_count, method_count)))
        )
        wins[kinds[tuple(sorted((choice.winner, *choice.losers)))], choice.winner] += 1
        beats[choice.winner, list(choice.losers)] += 1
    return offered, people


def choice_models(
    method_count: int, choices: list[Choice], bootstrap: int = 500, seed: int = 0, alpha: float = 0.01
) -> dict:
    """Log-strengths (centred) of top-1 Plackett–Luce and Bradley–Terry with percentile bootstrap
    intervals over participants. `probability` is the Plackett–Luce chance that a method wins a trial
    that offers every method. Fitted on count summaries, so a fit costs the same for 10 or 10,000 votes
    (the bootstrap refits hundreds of times); the tests check both fits against `choix`."""
    if not choices or method_count < 2:
        return {}
    offered, people = _summaries(method_count, choices)
    wins = np.stack([summary[0] for summary in people.values()])
    beats = np.stack([summary[1] for summary in people.values()])
    fits = {
        "plackett_luce": lambda chosen: plackett_luce_top1(wins[chosen].sum(axis=1), offered, alpha),
        "bradley_terry": lambda chosen: bradley_terry(beats[chosen].sum(axis=1), alpha),
    }
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(people), (bootstrap, len(people)))
    everyone = np.arange(len(people))[None, :]
    results = {}
    for kind, fit in fits.items():
        estimate = fit(everyone)[0]
        samples = fit(draws) if bootstrap else estimate[None, :]
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
        probability = np.exp(estimate - estimate.max())
        results[kind] = {
            "score": estimate.tolist(),
            "low": low.tolist(),
            "high": high.tolist(),
            "probability": (probability / probability.sum()).tolist(),
            "bootstrap": bootstrap,
        }
    return results


def tally(method_labels: list[str], choices: list[Choice], bootstrap: int = 500, seed: int = 0) -> dict:
    """Everything the results page and the JSON tally show, from the counted votes."""
    count = len(method_labels)
    votes = np.bincount([choice.winner for choice in choices], minlength=count)
    total = int(votes.sum())
    methods = []
    for index, label in enumerate(method_labels):
        low, high = wilson_interval(int(votes[index]), total)
        methods.append({
            "method": label, "votes": int(votes[index]), "share": votes[index] / total if total else 0.0,
            "low": low, "high": high,
        })
    statistic, freedom, p_value = chi_square_uniform(votes)
    pairs = list(combinations(range(count), 2))
    raw = [binomial_two_sided(int(votes[i]), int(votes[i] + votes[j])) for i, j in pairs]
    adjusted = holm(raw) if raw else []
    pairwise = [
        {"a": method_labels[i], "b": method_labels[j], "votes_a": int(votes[i]), "votes_b": int(votes[j]),
         "p": p, "p_holm": p_holm}
        for (i, j), p, p_holm in zip(pairs, raw, adjusted)
    ]
    positions = np.bincount([choice.position for choice in choices], minlength=count)
    position_statistic, position_freedom, position_p = chi_square_uniform(positions)
    return {
        "votes": total,
        "methods": methods,
        "chi_square": {"statistic": statistic, "df": freedom, "p": p_value},
        "pairwise": pairwise,
        "choice_models": choice_models(count, choices, bootstrap=bootstrap, seed=seed),
        "position_bias": {
            "counts": positions.tolist(), "statistic": position_statistic, "df": position_freedom, "p": position_p,
        },
    }
