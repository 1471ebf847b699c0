"""The tally's statistics against hand-computed values and against SciPy's and statsmodels' own."""
import math

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from studies import statistics
from studies.statistics import Choice

# The paper's Table 2: HDR, DPE, WB, D&R, DUPE, PieNet over 500 votes.
TABLE_2 = [101, 64, 17, 2, 71, 245]


def test_wilson_interval_by_hand_and_against_statsmodels():
    # 245 of 500: p = .49, z = 1.959964; centre = (.49 + z²/1000)/(1 + z²/500), half-width by the formula.
    z = 1.959963984540054
    centre = (0.49 + z * z / 1000) / (1 + z * z / 500)
    half = z / (1 + z * z / 500) * math.sqrt(0.49 * 0.51 / 500 + z * z / (4 * 500 * 500))
    low, high = statistics.wilson_interval(245, 500)
    assert low == pytest.approx(centre - half, abs=1e-12) and high == pytest.approx(centre + half, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.4464, 0.5337)
    for successes, total in [(0, 10), (10, 10), (2, 500), (3, 7), (101, 500)]:
        expected = proportion_confint(successes, total, alpha=0.05, method="wilson")
        assert statistics.wilson_interval(successes, total) == pytest.approx(expected, abs=1e-12)
    assert statistics.wilson_interval(0, 0) == (0.0, 1.0)


def test_chi_square_by_hand_and_against_scipy():
    # Expected 500/6 each: χ² = Σo²/e − n = 79656·6/500 − 500 = 455.872 for Table 2.
    expected = 500 / 6
    by_hand = sum((count - expected) ** 2 / expected for count in TABLE_2)
    statistic, freedom, p = statistics.chi_square_uniform(TABLE_2)
    assert statistic == pytest.approx(by_hand) and round(statistic, 3) == 455.872 and freedom == 5
    reference = stats.chisquare(TABLE_2)
    assert statistic == pytest.approx(reference.statistic)
    assert p == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    statistic, _, p = statistics.chi_square_uniform([10, 10, 10])
    assert statistic == 0 and p == 1
    assert statistics.chi_square_uniform([0, 0]) == (0.0, 1, 1.0)


@pytest.mark.parametrize("successes,trials", [(0, 0), (3, 10), (7, 10), (5, 10), (245, 346), (0, 12), (20, 20)])
def test_exact_binomial_against_scipy(successes, trials):
    expected = 1.0 if trials == 0 else stats.binomtest(successes, trials, 0.5).pvalue
    assert statistics.binomial_two_sided(successes, trials) == pytest.approx(expected, rel=1e-12)


def test_binomial_by_hand():
    # 1 of 6: P(X ≤ 1) = 7/64, two-sided 14/64.
    assert statistics.binomial_two_sided(1, 6) == pytest.approx(14 / 64)


def test_holm_by_hand_and_against_statsmodels():
    # Sorted .01 .02 .03 .04 → ×4 ×3 ×2 ×1 = .04 .06 .06 (monotone) .06.
    assert statistics.holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    rng = np.random.default_rng(3)
    for _ in range(20):
        p_values = rng.uniform(0, 0.2, size=rng.integers(2, 16))
        _, expected, _, _ = multipletests(p_values, method="holm")
        assert statistics.holm(p_values) == pytest.approx(expected.tolist())


def choices_from_counts(counts, participants=10):
    """Every trial offers every method; votes spread over participants round-robin, positions cycling."""
    methods = range(len(counts))
    choices = []
    number = 0
    for winner, count in enumerate(counts):
        for _ in range(count):
            choices.append(Choice(participant=f"P{number % participants}", winner=winner,
                                  losers=tuple(m for m in methods if m != winner), position=number % len(counts)))
            number += 1
    return choices


def test_top1_plackett_luce_recovers_shares_when_every_trial_offers_every_method():
    # With the full choice set in every trial the MLE of top-1 Plackett–Luce is the vote share itself.
    counts = [40, 25, 20, 15]
    models = statistics.choice_models(4, choices_from_counts(counts), bootstrap=0, alpha=1e-9)
    pl = models["plackett_luce"]
    assert pl["probability"] == pytest.approx([0.40, 0.25, 0.20, 0.15], abs=1e-6)
    assert sum(pl["score"]) == pytest.approx(0, abs=1e-9)
    # A method nobody chose keeps a finite score (the pseudo-wins), far below the others.
    pl = statistics.choice_models(3, choices_from_counts([10, 5, 0]), bootstrap=0)["plackett_luce"]
    assert np.isfinite(pl["score"]).all() and pl["probability"][2] < 0.01


def random_choices(seed: int, methods: int = 5, count: int = 400, subsets: bool = True) -> list[Choice]:
    """Votes among random choice sets (2..all methods) with unequal strengths; every method wins sometimes."""
    rng = np.random.default_rng(seed)
    strength = np.exp(rng.normal(0, 1, methods))
    choices = []
    for number in range(count):
        size = rng.integers(2, methods + 1) if subsets else methods
        offered = rng.choice(methods, size=size, replace=False)
        winner = int(rng.choice(offered, p=strength[offered] / strength[offered].sum()))
        choices.append(Choice(f"P{number % 20}", winner, tuple(int(m) for m in offered if m != winner), 0))
    return choices


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plackett_luce_and_bradley_terry_fits_agree_with_choix(seed):
    import choix

    choices = random_choices(seed)
    fitted = statistics.choice_models(5, choices, bootstrap=0, alpha=1e-9)
    reference = choix.ilsr_top1(5, [(c.winner, list(c.losers)) for c in choices])
    assert fitted["plackett_luce"]["score"] == pytest.approx(reference - reference.mean(), abs=1e-5)
    pairs = [(c.winner, loser) for c in choices for loser in c.losers]
    reference = choix.ilsr_pairwise(5, pairs)
    assert fitted["bradley_terry"]["score"] == pytest.approx(reference - reference.mean(), abs=1e-5)


def test_bradley_terry_against_a_direct_maximum_likelihood_fit():
    """The winner beats each other option: the MM fit equals scipy's minimization of the likelihood."""
    counts = [30, 12, 6]
    choices = choices_from_counts(counts)
    fitted = np.array(statistics.choice_models(3, choices, bootstrap=0, alpha=1e-9)["bradley_terry"]["score"])
    pairs = [(choice.winner, loser) for choice in choices for loser in choice.losers]

    def negative_log_likelihood(theta):
        return sum(np.logaddexp(0, theta[loser] - theta[winner]) for winner, loser in pairs)

    reference = optimize.minimize(negative_log_likelihood, np.zeros(3), method="BFGS", options={"gtol": 1e-9}).x
    reference -= reference.mean()
    assert fitted == pytest.approx(reference, abs=1e-4)
    assert fitted[0] > fitted[1] > fitted[2]


def test_bootstrap_intervals_cover_the_estimate_and_shrink_with_data():
    small = statistics.choice_models(3, choices_from_counts([6, 3, 1], participants=5), bootstrap=200, seed=1)
    large = statistics.choice_models(3, choices_from_counts([60, 30, 10], participants=50), bootstrap=200, seed=1)
    for models in (small, large):
        for fit in models.values():
            assert all(low <= score <= high for low, score, high in zip(fit["low"], fit["score"], fit["high"]))
    width = lambda fit: np.mean(np.array(fit["high"]) - np.array(fit["low"]))  # noqa: E731
    assert width(large["plackett_luce"]) < width(small["plackett_luce"]) / 2


def test_tally_of_table_2():
    labels = ["HDR", "DPE", "WB", "D&R", "DUPE", "PieNet"]
    result = statistics.tally(labels, choices_from_counts(TABLE_2, participants=10), bootstrap=50)
    assert result["votes"] == 500
    pienet = result["methods"][5]
    assert pienet["votes"] == 245 and pienet["share"] == pytest.approx(0.49)
    assert (round(pienet["low"], 4), round(pienet["high"], 4)) == (0.4464, 0.5337)
    assert len(result["pairwise"]) == 15
    pair = next(p for p in result["pairwise"] if (p["a"], p["b"]) == ("HDR", "PieNet"))
    assert pair["p"] == pytest.approx(stats.binomtest(101, 346, 0.5).pvalue)
    raw = [p["p"] for p in result["pairwise"]]
    assert [p["p_holm"] for p in result["pairwise"]] == pytest.approx(multipletests(raw, method="holm")[1].tolist())
    # Positions cycled evenly: no position bias.
    assert result["position_bias"]["counts"] == [84, 84, 83, 83, 83, 83] and result["position_bias"]["p"] > 0.99
    best = np.argmax(result["choice_models"]["plackett_luce"]["score"])
    assert labels[best] == "PieNet"


def test_empty_tally():
    result = statistics.tally(["A", "B"], [], bootstrap=10)
    assert result["votes"] == 0 and result["choice_models"] == {} and result["chi_square"]["p"] == 1.0
