"""Generator and critic architectures, one file per family.

Every generator maps noise (N, latent_dim) to samples of `data_shape`; every critic maps samples
to raw scores of shape (N,). Both take `data_shape` from the DataModule, so one config serves
every data set the architecture supports.
"""
