"""LightningDataModules that deliver real samples: toy 2-D mixtures and image sets.

Every module yields float tensors (images in [-1, 1], NCHW; toy points (N, 2)) in batches of
`batch_size * batches_per_step`: one training step of the GANModule is one generator
iteration, and it splits that batch into `batches_per_step` (= n_critic) fresh real batches,
one per critic update.

    base.py               the contract every DataModule keeps (shape, real_samples, reference set, labels)
    in_memory.py          data held in one tensor: toy.py, digits.py, stacked.py, torchvision_sets.py
    torchvision_sets.py   mnist.py, cifar10.py: torchvision's files, read into memory once
    image_files.py        images decoded per item: celeba.py, folder.py (directories and zips)
    images.py             preprocessing shared by all images: uint8 -> [-1, 1], padding, crop + resize
    download.py           files present, or fetched by torchvision with a bounded wait, or one message
    sampling.py           the seeded, sharded, resumable training order
"""
