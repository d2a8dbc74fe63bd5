"""Train one GAN experiment, or a sweep of them with `-m`.

    python src/train.py                                   # GAN-QP, DCGAN, digits (offline)
    python src/train.py loss=wgan constraint=gp model.critic.norm=layer
    python src/train.py experiment=wgan_gp data=grid25
    python src/train.py loss=gan_qp model=dcgan trainer.devices=4
    python src/train.py -m loss=gan,ns_gan,wgan constraint=none,gp,sn
    python src/train.py resume=logs/runs/2026-11-23/10-00-00   # continue a stopped run
    python src/train.py -m hparams_search=fid_optuna experiment=gan_qp   # Optuna search, minimising FID

Every key under `trainer:` goes to `lightning.Trainer` unchanged. Outputs go to the Hydra run
directory under logs/. Problems with the command line, the data or a checkpoint end the run
before training with one message (exit status 1).
"""

import hydra
from omegaconf import DictConfig

from ganarena.errors import exit_on_user_error
from ganarena.run.objective import run_objective
from ganarena.run.training import train


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    with exit_on_user_error():
        _, _, trainer = train(cfg)
        # A hyper-parameter search (hparams_search=...) optimises what this returns.
        if cfg.get("optimized_metric"):
            return run_objective(trainer.default_root_dir, cfg.optimized_metric, cfg.optimized_summary)
    return None


if __name__ == "__main__":
    main()
