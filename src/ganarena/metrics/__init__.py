"""Metrics of a generator, evaluated during training (callbacks) and by src/eval.py.

    evaluation.py     the base: fixed noise, DDP split, schedule, logging, best checkpoint
    frechet.py        FID / KID (torchmetrics) in a backbone's features, against cached real ones
    toy_modes.py      PacGAN mode metrics of ring8 / grid25
    stacked_modes.py  modes covered of the 1,000 of stacked digit sets
    backbone.py       what a feature backbone is; inception.py the standard one; classifier.py a
                      digit classifier trained on the data (cheap backbone and mode counter)
    real_stats.py     cached real features; cache.py the cache files; modes.py mode histograms;
    distributed.py    the few collectives; trained.py a trained run rebuilt from its checkpoint

Importing the package registers the `gpu_or_cpu` OmegaConf resolver the metrics configs use to
size evaluations by device: `${gpu_or_cpu:${trainer.accelerator},10000,256}` is 10000 when the
run uses a GPU (or another accelerator) and 256 on a CPU.
"""

import torch
from omegaconf import OmegaConf


def gpu_or_cpu(accelerator, on_gpu, on_cpu):
    """`on_cpu` when the run will use the CPU (`trainer.accelerator` cpu, or auto without GPU), else `on_gpu`."""
    name = str(accelerator).lower()
    if name == "auto":
        mps = getattr(torch.backends, "mps", None)
        use_gpu = torch.cuda.is_available() or bool(mps and mps.is_available())
    else:
        use_gpu = name != "cpu"
    return on_gpu if use_gpu else on_cpu


OmegaConf.register_new_resolver("gpu_or_cpu", gpu_or_cpu, replace=True)
