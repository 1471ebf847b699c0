import numpy as np
import torch

from ml.losses import PieNetLoss, edge_aware_total_variation, triplet_loss
from ml.models import EmbeddingNet
from ml.training.embedding import PreferenceSpace


def _closed_form_gradients(f_k, f_p, f_n, margin):
    """Eqs. (2)–(4) of the paper, with the indicator I(L_tri > 0)."""
    active = ((f_k - f_p).pow(2).sum(1) - (f_k - f_n).pow(2).sum(1) + margin > 0).double()[:, None]
    return 2 * (f_p - f_k) * active, 2 * (f_k - f_n) * active, 2 * (f_n - f_p) * active


def test_triplet_gradients_match_equations_2_to_4():
    generator = torch.Generator().manual_seed(0)
    f_k, f_p, f_n = (torch.randn(16, 8, generator=generator, dtype=torch.float64) for _ in range(3))
    f_p[0], f_n[0] = f_k[0] + 3.0, f_k[0] + 0.01   # clearly violated: active
    f_p[1], f_n[1] = f_k[1] + 0.01, f_k[1] + 3.0   # clearly satisfied: zero loss and zero gradients
    leaves = [tensor.clone().requires_grad_(True) for tensor in (f_k, f_p, f_n)]
    losses = triplet_loss(*leaves, margin=0.2)
    assert losses[0] > 0 and losses[1] == 0
    losses.sum().backward()
    expected_p, expected_n, expected_k = _closed_form_gradients(f_k, f_p, f_n, 0.2)
    torch.testing.assert_close(leaves[1].grad, expected_p)
    torch.testing.assert_close(leaves[2].grad, expected_n)
    torch.testing.assert_close(leaves[0].grad, expected_k)
    assert torch.count_nonzero(leaves[0].grad[1]) == 0


def test_triplet_gradients_reach_vectors_and_network(tiny_config):
    space = PreferenceSpace(EmbeddingNet(tiny_config), torch.randn(3, 512))
    images = torch.rand(4, 3, 32, 32)  # rows 0-1 positives, rows 2-3 negatives
    losses = space(images, torch.tensor([0, 0]), torch.tensor([0, 1]), torch.tensor([2, 3]), margin=5.0)
    losses.mean().backward()
    assert space.vectors.grad[0].abs().sum() > 0
    assert torch.count_nonzero(space.vectors.grad[1:]) == 0
    assert space.net.trunk[0].weight.grad.abs().sum() > 0


def test_edge_aware_tv_matches_equation_7():
    rng = np.random.default_rng(0)
    image, delta = rng.random((1, 3, 5, 6)), rng.random((1, 3, 5, 6))
    expected_x = np.mean(np.exp(-np.abs(np.diff(image, axis=3))) * np.abs(np.diff(delta, axis=3)))
    expected_y = np.mean(np.exp(-np.abs(np.diff(image, axis=2))) * np.abs(np.diff(delta, axis=2)))
    value = edge_aware_total_variation(torch.from_numpy(image), torch.from_numpy(delta))
    assert abs(float(value) - (expected_x + expected_y)) < 1e-12


def test_edge_aware_tv_penalizes_delta_steps_less_at_image_edges():
    flat, edged = torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)
    edged[..., 4:] = 1.0
    step = torch.zeros(1, 3, 8, 8)
    step[..., 4:] = 0.5
    assert edge_aware_total_variation(edged, step) < edge_aware_total_variation(flat, step)
    assert edge_aware_total_variation(flat, torch.full((1, 3, 8, 8), 0.3)) == 0


def test_pienet_loss_combines_the_three_terms(tiny_config):
    loss = PieNetLoss(EmbeddingNet(tiny_config).eval().requires_grad_(False), 0.4, 0.01)
    image, target = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    delta = torch.zeros(2, 3, 64, 64, requires_grad=True)
    terms = loss(image, delta, target)
    torch.testing.assert_close(terms["colour"], (image - target).abs().mean())
    torch.testing.assert_close(terms["loss"], terms["colour"] + 0.4 * terms["perceptual"] + 0.01 * terms["tv"])
    terms["loss"].backward()
    assert delta.grad.abs().sum() > 0
    perfect = loss(image, (target - image).requires_grad_(True), target)
    assert float(perfect["colour"].detach()) < 1e-7 and float(perfect["perceptual"].detach()) < 1e-6


def test_proxy_loss_classifies_each_distinct_positive_among_all_users(tiny_config):
    torch.manual_seed(0)
    space = PreferenceSpace(EmbeddingNet(tiny_config), torch.randn(3, 512))
    images = torch.rand(4, 3, 32, 32)
    anchors, positives, negatives = torch.tensor([2, 2, 1]), torch.tensor([1, 1, 0]), torch.tensor([2, 3, 3])
    losses = space(images, anchors, positives, negatives, margin=0.2, proxy_temperature=0.1)
    assert losses.shape == (3 + 2,)  # three triplets, then rows 0 and 1 once each
    features = space.net(images)
    logits = features[[0, 1]] @ torch.nn.functional.normalize(space.vectors, dim=1).T / 0.1
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([1, 2]), reduction="none")
    torch.testing.assert_close(losses[3:], expected)
    losses[3:].sum().backward()
    assert torch.count_nonzero(space.vectors.grad[0]) > 0  # every user is a class, not just the anchors
