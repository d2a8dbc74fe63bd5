"""The run: the one package that knows Hydra and Lightning's Trainer.

    build.py          a composed config -> DataModule, GANModule, Trainer (callbacks, loggers, plugins)
    config_checks.py  what Hydra cannot check about a config, before any work starts
    training.py       train(cfg): check, find what the run continues from, build, fit
    resume.py         ckpt_path= / resume=RUN_DIR / resume=auto: what a run continues from
    checkpoints.py    checkpoint files: atomic writes, reading and checking them
    trained.py        a trained run rebuilt from its checkpoint (eval.py, sample.py)
    monitor.py        TrainingMonitor: non-finite check and loss logging; finite_guard.py its check
    random_states.py  every rank's random state in checkpoints
    loop_position.py  Lightning's batch count kept in step with the data order on resume
    callbacks.py      sample pictures, checkpoints counted in iterations, preemption
    loggers.py        W&B that never hangs; csv_history.py the CSV log that survives restarts
    strategy.py       gan_ddp: generator and critic in separate DDP wrappers
    devices.py        what an accelerator setting means; resolvers.py the config resolvers

Importing the package registers the config resolvers and the `gan_ddp` strategy.
"""

from ganarena.run.resolvers import register

register()
