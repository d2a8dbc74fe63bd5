"""The adversarial game in plain PyTorch and one LightningModule; nothing here imports Hydra.

losses.py       one small class per objective (both sides minimised)
constraints.py  critic-side plug-ins: weight clipping, gradient penalty, spectral norm
module.py       GANModule: n_critic critic updates, then one generator update
"""
