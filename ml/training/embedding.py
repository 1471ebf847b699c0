"""Stage 1 (Sec. 3.1, 4.1, reworked for v2): learn the embedding network and one preference vector per training
user with the triplet loss, jointly — on batches that make style, not content, the thing to tell apart.

v1 drew a positive and a negative per triplet, mostly from other photos, and learned content: one photo in two
styles embedded closer (cosine 0.78) than one style on two photos (0.65). Here a batch is P photos, each seen as
its input and as retouched by the same K users, and eq. 1 runs over every triplet whose negative shows the
positive's photo — another user's retouch or the input. Only the look differs between positive and negative.

The triplets alone left the embedding content-first (one photo in two users' looks at cosine 0.83, one look on
two photos at 0.71): once a negative is ``margin`` further from f_k than the positive, nothing asks a user's
retouches of *different* photos to come together. A proxy loss does (NormSoftmax, Zhai & Wu 2019): every
retouch is classified among all training users by its cosine to their vectors, so each user's looks gather
around f_k whatever the photo, and what is left of the content is noise the softmax pays for.

After training, every user's embeddings of ``pool_size`` whole retouched photos are kept (``user_embeddings.pt``)
and each stored vector becomes the renormalised mean of its user's pool: the vectors are then made the way a new
user's scheme-2 vector is made, which PieNet (stage 2) is trained on. v1 kept the free vectors f_k, which ended
at cosine 0.17 to their users' mean embeddings.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ml.checkpoint import (CheckpointError, load_checkpoint, load_training_state, save_checkpoint,
                           save_training_state, save_user_embeddings, training_state_tensors)
from ml.config import EmbeddingRecipe, ModelConfig, TrainingRecipe
from ml.data.style_bank import StyleBank, open_bank
from ml.inference import Enhancer
from ml.losses import triplet_loss
from ml.models import EmbeddingNet
from ml.training.common import autocast_context, run_steps, set_learning_rates, step_batches, training_run

STAGE = "embedding"
USER_EMBEDDINGS_NAME = "user_embeddings.pt"
FINAL_VECTORS = "renormalised mean of each user's pool"


class PreferenceSpace(nn.Module):
    """The embedding network and the users' preference vectors in one module, so one optimizer and one DDP
    wrapper cover both (the gradients of eqs. 2–4 reach the vectors and the network simultaneously)."""

    def __init__(self, net: EmbeddingNet, vectors: torch.Tensor):
        super().__init__()
        self.net = net
        self.vectors = nn.Parameter(vectors.clone())

    def forward(self, images: torch.Tensor, anchors: torch.Tensor, positives: torch.Tensor,
                negatives: torch.Tensor, margin: float, proxy_temperature: float = 0.0) -> torch.Tensor:
        """Eq. 1 for triplets given as (anchor user, positive row, negative row) into one batch of images, so an
        image shared by many triplets is embedded once; with a ``proxy_temperature``, the proxy loss of each
        distinct positive row (classified among all users) is appended after the triplet losses."""
        features = self.net(images)
        losses = triplet_loss(self.vectors[anchors], features[positives], features[negatives], margin)
        if not proxy_temperature:
            return losses
        rows, inverse = torch.unique(positives, return_inverse=True)
        users = torch.empty_like(rows).scatter_(0, inverse, anchors)  # a positive row has one user: its anchor
        logits = features[rows].float() @ F.normalize(self.vectors.float(), dim=1).T / proxy_temperature
        return torch.cat([losses.float(), F.cross_entropy(logits, users, reduction="none")])


def initial_vectors(num_users: int, dim: int, seed: int) -> torch.Tensor:
    """Random initial preference vectors (the paper: "random values"); we draw them uniformly on the unit
    sphere, where the L2-normalized features live."""
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(num_users, dim, generator=generator), dim=1)


def space_optimizer(model: nn.Module, space: PreferenceSpace, learning_rate: float,
                    vector_lr_scale: float = 1.0) -> torch.optim.Adam:
    """Adam with the vectors in their own group: each vector sees only its user's triplets, a few per cent of
    the batches, so it needs a larger rate to keep up with the shared network."""
    vector_ids = {id(space.vectors)}
    network = [parameter for parameter in model.parameters() if id(parameter) not in vector_ids]
    return torch.optim.Adam([{"params": network, "lr": learning_rate},
                             {"params": [space.vectors], "lr": learning_rate * vector_lr_scale}])


def triplet_step(model: nn.Module, optimizer: torch.optim.Optimizer, recipe: TrainingRecipe, step: int,
                 device: torch.device, images: torch.Tensor, anchors: torch.Tensor, positives: torch.Tensor,
                 negatives: torch.Tensor, margin: float, proxy_weight: float = 0.0,
                 proxy_temperature: float = 0.1) -> dict[str, torch.Tensor]:
    """One optimizer step of eq. 1, averaged over the active triplets (those with a positive loss): with many
    easy triplets per batch, a plain mean would shrink the gradient as training succeeds. A ``proxy_weight``
    adds that multiple of the mean proxy loss (see the module's docstring)."""
    set_learning_rates(optimizer, step, recipe)
    moved = [tensor.to(device, non_blocking=True) for tensor in (images, anchors, positives, negatives)]
    with autocast_context(device):
        losses = model(*moved, margin, proxy_temperature if proxy_weight else 0.0)
    triplets = losses[:len(moved[1])]
    active = (triplets > 0).float()
    triplet = triplets.sum() / active.sum().clamp_min(1.0)
    proxy = losses[len(moved[1]):].mean() if proxy_weight else torch.zeros((), device=triplet.device)
    optimizer.zero_grad(set_to_none=True)
    (triplet + proxy_weight * proxy).backward()
    optimizer.step()
    return {"loss": triplet.detach(), "active_triplets": active.mean(), "proxy": proxy.detach()}


def embed_pools(net: EmbeddingNet, config: ModelConfig, bank: StyleBank, pool_size: int, seed: int,
                device) -> torch.Tensor:
    """(users, pool_size, D): every user's embeddings of ``pool_size`` whole photos it retouched, embedded the
    way the platform embeds a participant's picks (:meth:`ml.inference.Enhancer.embed`)."""
    from tqdm import tqdm

    embedder = Enhancer(net, None, config, {}, device=device, precision="fp32")
    pools = [embedder.embed(bank.pool_images(user, pool_size, seed)).cpu()
             for user in tqdm(range(len(bank.users)), desc="user embeddings", unit="user")]
    return torch.stack(pools)


def pool_vectors(pools: torch.Tensor) -> torch.Tensor:
    """Stored vectors: the renormalised mean of each user's pool (scheme 2 with all of its images)."""
    return F.normalize(pools.float().mean(dim=1), dim=-1)


def train_embedding(data_dir, out_dir, recipe: EmbeddingRecipe, config: ModelConfig | None = None,
                    init: str = "random", device: str = "auto", resume: bool = False, photos=None) -> Path:
    """Train stage 1 on ``data_dir``'s train split; returns the checkpoint path (``user_embeddings.pt`` beside)."""
    out_dir = Path(out_dir)
    with training_run(out_dir, device, recipe.seed) as (context, checkpoint_path, state_path):
        bank = open_bank(data_dir, "train", recipe.random_users, recipe.cache_size, recipe.named_share,
                         recipe.crop_scale, photos)
        names = bank.user_names
        if resume:
            loaded = load_checkpoint(checkpoint_path)
            config, net = loaded.config, loaded.embedding_net
            vectors = training_state_tensors(state_path).get("vectors")
            if vectors is None or vectors.shape[0] != len(names):
                raise CheckpointError(f"{state_path} holds no vectors for this dataset's and recipe's "
                                      f"{len(names)} training users; start a new run.")
        else:
            config = config or ModelConfig()
            net = EmbeddingNet(config, init=init)
            vectors = initial_vectors(len(names), config.vector_dim, recipe.seed)
        space = PreferenceSpace(net, vectors).to(context.device).train()
        model = context.wrap(space)
        optimizer = space_optimizer(model, space, recipe.learning_rate, recipe.vector_lr_scale)
        start_step = load_training_state(state_path, optimizer, STAGE) if resume else 0

        def metadata(step: int) -> dict:
            return {"stage": STAGE, "step": step, "recipe": recipe.to_dict(), "init": init, "data": str(data_dir),
                    "vectors": "learned (training in progress)"}

        def save(step: int) -> None:
            save_checkpoint(checkpoint_path, space.net, None, config, names, space.vectors, metadata(step))
            save_training_state(state_path, optimizer, step, STAGE, {"vectors": space.vectors})

        def train_step(batch, step: int) -> dict[str, torch.Tensor]:
            anchors, positives, negatives = batch.triplets()
            return triplet_step(model, optimizer, recipe, step, context.device, batch.images, anchors, positives,
                                negatives, recipe.margin, recipe.proxy_weight, recipe.proxy_temperature)

        if start_step < recipe.steps:
            per_step = recipe.batch_size * (recipe.users_per_batch + 1)
            photos_per_rank = max(1, recipe.batch_size // context.world_size)
            batches = step_batches(lambda step: bank.grid_batch(recipe.seed, step, photos_per_rank,
                                                                recipe.users_per_batch, config.embed_size,
                                                                context.rank), start_step)
            run_steps(stage=STAGE, batches=batches, recipe=recipe, train_step=train_step, save=save,
                      start_step=start_step, out_dir=out_dir, context=context, images_per_step=per_step)
        finished = not resume or start_step < recipe.steps or not (out_dir / USER_EMBEDDINGS_NAME).is_file()
        if context.is_main and finished:
            _finish(space.net.eval(), config, bank, recipe, out_dir, metadata(max(start_step, recipe.steps)),
                    space.vectors.detach().cpu(), context.device)
        context.barrier()
        return checkpoint_path


def _finish(net: EmbeddingNet, config: ModelConfig, bank: StyleBank, recipe: EmbeddingRecipe, out_dir: Path,
            metadata: dict, learned: torch.Tensor | None, device) -> None:
    """Embed every user's pool, then store the named users with their pool means as vectors (the random users
    live on only in the pools, for stage 2)."""
    names = bank.user_names
    pools = embed_pools(net, config, bank, recipe.pool_size, recipe.seed, device)
    save_user_embeddings(out_dir / USER_EMBEDDINGS_NAME, names, pools)
    named = [index for index, user in enumerate(bank.users) if user.named]
    stored = pool_vectors(pools[named])
    metadata = {**metadata, "vectors": FINAL_VECTORS}
    if learned is not None:  # how far the free vectors f_k ended from the pool means (v1: cosine 0.17)
        metadata["learned_vector_cosine"] = float((F.normalize(learned[named], dim=1) * stored).sum(dim=1).mean())
    save_checkpoint(out_dir / "checkpoint.pt", net, None, config, [names[i] for i in named], stored, metadata)

