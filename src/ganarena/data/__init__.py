"""LightningDataModules that deliver real samples: toy 2-D mixtures and image sets.

Every module yields float tensors (images in [-1, 1], NCHW; toy points (N, 2)) in batches of
`batch_size * batches_per_step`: one training step of the GANModule is one generator
iteration, and it splits that batch into `batches_per_step` (= n_critic) fresh real batches,
one per critic update.
"""
