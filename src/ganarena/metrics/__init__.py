"""Metrics of a generator, evaluated during training (callbacks) and by src/eval.py.

evaluation.py     the base: fixed noise, DDP split, schedule, logging, best checkpoint
frechet.py        FID / KID (torchmetrics) in a backbone's features, against cached real ones
toy_modes.py      PacGAN mode metrics of ring8 / grid25
stacked_modes.py  modes covered of the 1,000 of stacked digit sets
backbone.py       what a feature backbone is; inception.py the standard one; classifier.py a
                  digit classifier trained on the data (cheap backbone and mode counter)
real_stats.py     cached real features; cache.py the cache files; modes.py mode histograms;
distributed.py    the few collectives
"""
