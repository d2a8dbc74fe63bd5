"""Backbone features of the real reference images, computed once and cached on disk.

    features = real_features(backbone, datamodule, num_real=10_000, cache_dir=Path("data/metrics_cache"))
    radii = real_radii(features, cache_dir, datamodule.reference_id, backbone.id, k=3)   # k-NN radii, cached too

One file per (reference set, backbone, number of images): `datamodule.reference_id` names the
data set, split, preprocessing and resolution; `backbone.id` the network and its exact weights.
Later runs, eval.py and every DDP rank reuse it, so an evaluation only generates and embeds
fakes. When `num_real` is smaller than the reference set, the images are a fixed random subset
(seed 0, the same for every run, or the cache would not be shared).

Under DDP every rank embeds a contiguous share of a missing file's images; rank 0 gathers and
writes them. The features are returned on rank 0 only: the FID/KID states are sums over ranks, so
the real side must enter them once (other ranks get None and hold empty real states).
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from ganarena.errors import ConfigError
from ganarena.metrics.cache import atomic_save, load_cached
from ganarena.metrics.distributed import broadcast_from_zero, gather_in_rank_order, rank_and_world, rank_share
from ganarena.metrics.manifold import kth_neighbour_radii

SUBSET_SEED = 0


def cache_path(cache_dir: Path, reference_id: str, backbone_id: str, num_real: int) -> Path:
    return Path(cache_dir) / "real_features" / f"{reference_id}__{backbone_id}__n{num_real}.pt"


def reference_order(available: int) -> Tensor:
    """The fixed order of a reference set's images: a subset of `count` images is its first `count`."""
    return torch.randperm(available, generator=torch.Generator().manual_seed(SUBSET_SEED))


def real_features(
    backbone,
    datamodule,
    num_real: int | None,
    cache_dir: Path,
    device: torch.device | str = "cpu",
    batch_size: int = 100,
) -> Tensor | None:
    """(num_real, num_features) float32 features on rank 0 (loaded or computed and cached), None elsewhere."""
    loader = datamodule.reference_dataloader(batch_size)
    dataset = loader.dataset
    available = len(dataset)
    count = available if num_real is None or num_real <= 0 else min(num_real, available)
    if count < 2:
        raise ConfigError(f"FID needs at least 2 real images, the reference set has {available}")
    if num_real is not None and num_real > available:
        rank_zero_warn(f"metrics: num_real={num_real} but the reference set has {available} images; using all")
    path = cache_path(cache_dir, datamodule.reference_id, backbone.id, count)
    rank, world = rank_and_world()
    cached = load_cached(path) if rank == 0 else None
    if broadcast_from_zero(cached is not None):
        return cached["features"] if rank == 0 else None

    index = torch.arange(available)
    if count < available:
        index = reference_order(available)[:count]
    share = index[rank_share(count, rank, world)].tolist()
    rank_zero_info(f"metrics: embedding {count} real images with {backbone.id} (cached afterwards in {path})")
    # A private generator: iterating a DataLoader otherwise draws its seed from the global random state.
    images = DataLoader(
        Subset(dataset, share), batch_size=batch_size, num_workers=loader.num_workers, generator=torch.Generator()
    )
    local = [backbone(_images(batch).to(device)).float().cpu() for batch in images]
    local_features = torch.cat(local) if local else torch.empty(0, backbone.num_features)
    features = gather_in_rank_order(local_features.to(device)).cpu()
    if rank != 0:
        return None
    atomic_save({"features": features, "reference_id": datamodule.reference_id, "backbone": backbone.id}, path)
    return features


def real_radii(features: Tensor, cache_dir: Path, reference_id: str, backbone_id: str, k: int) -> Tensor:
    """Each real feature's distance to its k-th nearest neighbour, cached under real_radii/ beside real_features/."""
    features_file = cache_path(cache_dir, reference_id, backbone_id, len(features))
    path = Path(cache_dir) / "real_radii" / f"{features_file.stem}__k{k}.pt"
    cached = load_cached(path)
    if cached is not None and len(cached["radii"]) == len(features):
        return cached["radii"]
    radii = kth_neighbour_radii(features, k)
    atomic_save({"radii": radii, "k": k, "reference_id": reference_id, "backbone": backbone_id}, path)
    return radii


def _images(batch) -> Tensor:
    # The contract's reference sets yield bare image tensors; tolerate (image, label) pairs.
    return batch[0] if isinstance(batch, (list, tuple)) else batch
