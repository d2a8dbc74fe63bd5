"""Train one GAN experiment, or a sweep of them with `-m`.

    python src/train.py                                   # GAN-QP, DCGAN, digits (offline)
    python src/train.py loss=wgan constraint=gp model.critic.norm=layer
    python src/train.py experiment=wgan_gp data=grid25
    python src/train.py loss=gan_qp model=dcgan trainer.devices=4
    python src/train.py -m loss=gan,ns_gan,wgan constraint=none,gp,sn

Every key under `trainer:` goes to `lightning.Trainer` unchanged. Outputs go to the Hydra run
directory under logs/.
"""

import hydra
import lightning as L
from omegaconf import DictConfig

from ganarena.experiment import build_run


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> None:
    L.seed_everything(cfg.seed, workers=True)
    datamodule, module, trainer = build_run(cfg)
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)


if __name__ == "__main__":
    main()
