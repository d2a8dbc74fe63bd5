"""ganarena: compare GAN objectives on the same footing with Lightning and Hydra.

    game/      the adversarial game: losses, constraints, GANModule (plain PyTorch + Lightning, no Hydra)
    models/    generator and critic architectures, one file per family
    data/      DataModules of real samples
    metrics/   measurements of a generator (FID/KID, mode coverage)
    run/       the one place that knows Hydra and the Trainer: build, fit, resume, checkpoints, callbacks
    report/    comparison tables and plots from run directories

docs/architecture.md describes the rooms and the contracts between them.
"""
