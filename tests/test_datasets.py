"""Image data sets read from small files in their real on-disk formats, written by the tests.

MNIST IDX files (gzipped, torchvision's layout), CIFAR-10 python pickle batches, a CelebA
directory with its partition file, folders and zips of PNG/JPEG files with broken ones. Nothing
is downloaded: the download path is exercised against a local socket that never answers.
"""

from __future__ import annotations

import gzip
import pickle
import socket
import struct
import time
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DistributedSampler
from torchvision import datasets

from ganarena.data.base import UnreadableDataError
from ganarena.data.celeba import CelebADataModule
from ganarena.data.cifar10 import CIFAR10DataModule
from ganarena.data.digits import DigitsDataModule
from ganarena.data.folder import FolderDataModule
from ganarena.data.images import ImageTransform
from ganarena.data.mnist import FashionMNISTDataModule, MNISTDataModule
from ganarena.data.stacked import StackedDataModule
from ganarena.errors import ConfigError, DataNotFoundError

# ---------------------------------------------------------------- writers of the real formats


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def write_mnist(root: Path, folder: str = "MNIST", n_train: int = 96, n_test: int = 32, gz: bool = True, seed: int = 0):
    """Random 28x28 digits with labels 0..9, as torchvision's download leaves them; returns them."""
    rng = np.random.default_rng(seed)
    written = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", labels, gz)
        written[prefix] = images, labels
    return written


def write_cifar10(root: Path, per_batch: int = 20, n_test: int = 16, seed: int = 0):
    """Five training batches and a test batch, pickled as the python version of CIFAR-10."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written = {"train": [], "test": []}
    names = [(f"data_batch_{i}", "train", per_batch) for i in range(1, 6)] + [("test_batch", "test", n_test)]
    for name, split, n in names:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)  # rows: 1024 R, 1024 G, 1024 B
        labels = [int(x) for x in rng.integers(0, 10, size=n)]
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "labels": labels, "data": data, "filenames": [""] * n}, f)
        written[split].append(data)
    return {split: np.concatenate(arrays).reshape(-1, 3, 32, 32) for split, arrays in written.items()}


def face(rng: np.random.Generator, size=(178, 218)) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))


def write_celeba(root: Path, n: int = 40, seed: int = 0) -> list[str]:
    """img_align_celeba/ with n 178x218 JPEGs and list_eval_partition.txt (train, valid, test)."""
    rng = np.random.default_rng(seed)
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for name in names:
        face(rng).save(folder / "img_align_celeba" / name, quality=90)
    parts = [0] * (n - 8) + [1] * 4 + [2] * 4
    (folder / "list_eval_partition.txt").write_text("".join(f"{m} {p}\n" for m, p in zip(names, parts, strict=True)))
    return names


def write_image_folder(folder: Path, n: int = 24, corrupt: bool = True, seed: int = 0) -> list[str]:
    """Nested PNG (RGB, RGBA, grey) and JPEG files of assorted sizes, a text file, a hidden file,
    and (if `corrupt`) one file that is no image; returns the good images' relative paths."""
    rng = np.random.default_rng(seed)
    good = []
    for i in range(n):
        sub = folder / ("a" if i % 2 else "b/c")
        sub.mkdir(parents=True, exist_ok=True)
        w, h = 40 + 4 * (i % 5), 36 + 2 * (i % 3)
        pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        if i % 3 == 0:
            name = f"img{i:03d}.jpg"
            image.save(sub / name, quality=95)
        else:
            name = f"img{i:03d}.png"
            (image.convert("RGBA") if i % 3 == 1 else image.convert("L")).save(sub / name)
        good.append(f"{sub.relative_to(folder).as_posix()}/{name}")
    (folder / "a" / "notes.txt").write_text("not an image")
    (folder / "a" / ".hidden.png").write_bytes(b"ignored")
    if corrupt:
        (folder / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    return sorted(good)


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            z.write(path, path.relative_to(folder).as_posix())
    return archive


# ---------------------------------------------------------------- MNIST and Fashion-MNIST


def test_mnist_is_padded_to_32_and_scaled(tmp_path):
    written = write_mnist(tmp_path)
    dm = MNISTDataModule(batch_size=16, root=str(tmp_path), download=False)
    dm.prepare_data()
    dm.setup("fit")
    images, labels = written["train"]
    samples = dm.samples
    assert samples.shape == (96, 1, 32, 32) == (len(images), *dm.shape)
    assert samples.dtype == torch.float32 and samples.min() >= -1 and samples.max() <= 1
    # The original pixels sit unchanged in the middle; the 2-pixel border is background (-1).
    expected = torch.from_numpy(images).float() / 127.5 - 1
    assert torch.allclose(samples[:, 0, 2:30, 2:30], expected)
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (samples[:, 0][:, border] == -1).all()
    assert torch.equal(dm.labels, torch.from_numpy(labels).long())
    assert torch.equal(torch.cat(list(dm.reference_dataloader(40))), samples)
    assert dm.reference_id == "mnist-train-pad32-1x32x32"


def test_mnist_reads_unpacked_files_and_the_test_split_as_reference(tmp_path):
    written = write_mnist(tmp_path, gz=False)
    dm = MNISTDataModule(batch_size=16, root=str(tmp_path), download=False, reference_split="test")
    reference = torch.cat(list(dm.reference_dataloader(8)))
    assert reference.shape == (32, 1, 32, 32)
    assert torch.allclose(reference[:, 0, 2:30, 2:30], torch.from_numpy(written["t10k"][0]).float() / 127.5 - 1)
    assert dm.reference_id == "mnist-test-pad32-1x32x32"
    assert len(dm.train_dataset()) == 96


def test_fashion_mnist_reads_its_own_folder(tmp_path):
    write_mnist(tmp_path, folder="FashionMNIST", n_train=48)
    dm = FashionMNISTDataModule(batch_size=16, root=str(tmp_path), download=False)
    assert dm.samples.shape == (48, 1, 32, 32)
    assert dm.reference_id.startswith("fashion_mnist-train")
    with pytest.raises(DataNotFoundError, match="MNIST/raw"):
        MNISTDataModule(batch_size=16, root=str(tmp_path), download=False).prepare_data()


def test_truncated_idx_file_is_named(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:1000]))
    with pytest.raises(UnreadableDataError, match=str(path)):
        MNISTDataModule(batch_size=16, root=str(tmp_path), download=False).setup("fit")


# ---------------------------------------------------------------- CIFAR-10


def test_cifar10_keeps_the_images_and_their_channel_order(tmp_path):
    written = write_cifar10(tmp_path)
    dm = CIFAR10DataModule(batch_size=16, root=str(tmp_path), download=False)
    dm.setup("fit")
    samples = dm.samples
    assert samples.shape == (100, 3, 32, 32) and dm.shape == (3, 32, 32)
    assert torch.allclose(samples, torch.from_numpy(written["train"]).float() / 127.5 - 1)
    assert samples.min() >= -1 and samples.max() <= 1
    assert dm.labels.shape == (100,) and dm.labels.dtype == torch.int64
    assert dm.reference_id == "cifar10-train-3x32x32"

    test_ref = CIFAR10DataModule(batch_size=16, root=str(tmp_path), download=False, reference_split="test")
    reference = torch.cat(list(test_ref.reference_dataloader(5)))
    assert torch.allclose(reference, torch.from_numpy(written["test"]).float() / 127.5 - 1)
    assert test_ref.reference_id == "cifar10-test-3x32x32"


def test_train_batches_hold_n_critic_batches_and_follow_the_seed(tmp_path):
    write_cifar10(tmp_path)
    dm = CIFAR10DataModule(batch_size=8, batches_per_step=3, root=str(tmp_path), download=False)
    dm.setup("fit")
    L.seed_everything(5)
    first = list(dm.train_dataloader())
    assert [b.shape for b in first] == [(24, 3, 32, 32)] * 4  # 100 // 24, the rest dropped
    L.seed_everything(5)
    again = list(dm.train_dataloader())
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    L.seed_everything(6)
    assert not torch.equal(next(iter(dm.train_dataloader())), first[0])


def test_each_ddp_rank_gets_its_own_equal_shard(tmp_path):
    write_cifar10(tmp_path)
    shards = []
    for rank in range(2):
        dm = CIFAR10DataModule(batch_size=8, batches_per_step=2, root=str(tmp_path), download=False)
        dm.trainer = SimpleNamespace(world_size=2, global_rank=rank, global_step=0)  # what DDP rank `rank` sees
        loader = dm.train_dataloader()
        assert isinstance(loader.sampler, DistributedSampler)  # so Lightning keeps it instead of its own
        shards.append(list(loader.sampler))
        assert [len(b) for b in loader] == [16] * (50 // 16)  # equal batches on every rank
    assert len(shards[0]) == len(shards[1]) == 50 and not set(shards[0]) & set(shards[1])


def test_corrupt_cifar_batch_is_named(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(UnreadableDataError, match="data_batch_3"):
        CIFAR10DataModule(batch_size=8, root=str(tmp_path), download=False).setup("fit")


class PlantedCommand:
    """Unpickled by pickle.load, this runs `touch MARKER`."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_planted_cifar_batch_runs_no_code_and_is_named(tmp_path):
    """A data.root holding a crafted batch (a checkpoint's stored config can name any root): refused, not run."""
    write_cifar10(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    payload = {
        "batch_label": "x",
        "labels": [0],
        "data": np.zeros((1, 3072), np.uint8),
        "hook": PlantedCommand(tmp_path / "ran"),
    }
    batch.write_bytes(pickle.dumps(payload, protocol=2))
    pickle.loads(pickle.dumps(PlantedCommand(tmp_path / "control")))
    assert (tmp_path / "control").exists(), "the payload must run when unpickled without care"
    with pytest.raises(UnreadableDataError, match=r"data_batch_2 .*posix\.system, which no CIFAR-10 batch holds"):
        CIFAR10DataModule(batch_size=8, root=str(tmp_path), download=False).setup("fit")
    assert not (tmp_path / "ran").exists()


# ---------------------------------------------------------------- missing data and downloads


@pytest.mark.parametrize(
    ("module", "where", "files"),
    [
        (MNISTDataModule, "MNIST/raw", ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]),
        (FashionMNISTDataModule, "FashionMNIST/raw", ["train-images-idx3-ubyte.gz"]),
        (CIFAR10DataModule, "cifar-10-batches-py", ["data_batch_1", "data_batch_5"]),
        (CelebADataModule, "celeba", ["img_align_celeba/", "list_eval_partition.txt"]),
    ],
)
def test_missing_files_stop_with_one_message_naming_them(module, where, files, tmp_path):
    dm = module(batch_size=8, root=str(tmp_path / "nowhere"), download=False)
    with pytest.raises(DataNotFoundError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert str(tmp_path / "nowhere" / where) in message
    assert all(name in message for name in files)
    assert "data.download=true" in message and "data.download=false" in message and "data.root" in message
    with pytest.raises(DataNotFoundError):  # the same from setup, which every DDP rank runs
        dm.setup("fit")


def test_only_the_needed_split_is_required(tmp_path):
    write_mnist(tmp_path)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / "MNIST" / "raw" / name).unlink()
    MNISTDataModule(batch_size=8, root=str(tmp_path), download=False).prepare_data()
    with pytest.raises(DataNotFoundError, match=r"t10k-images-idx3-ubyte\.gz") as error:
        MNISTDataModule(batch_size=8, root=str(tmp_path), download=False, reference_split="test").prepare_data()
    assert "train-images" not in str(error.value)
    with pytest.raises(DataNotFoundError, match="t10k"):  # every rank checks before training, too
        MNISTDataModule(batch_size=8, root=str(tmp_path), download=False, reference_split="test").setup("fit")


@pytest.fixture
def silent_server():
    """A local TCP port that accepts connections and never answers: a stalled network."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    server.close()


def test_download_from_a_stalled_network_fails_fast_with_the_message(silent_server, tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "mirrors", [silent_server])
    dm = MNISTDataModule(batch_size=8, root=str(tmp_path), download=True, download_timeout=0.5)
    start = time.monotonic()
    with pytest.raises(DataNotFoundError) as error:
        dm.prepare_data()
    assert time.monotonic() - start < 10
    message = str(error.value)
    assert "failed" in message and "timed out" in message and str(tmp_path / "MNIST" / "raw") in message
    assert socket.getdefaulttimeout() is None  # the bound does not outlive the download


def test_download_is_skipped_when_the_files_are_there(tmp_path, monkeypatch):
    write_cifar10(tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(datasets.CIFAR10, "download", no_network)
    CIFAR10DataModule(batch_size=8, root=str(tmp_path), download=True).prepare_data()


# ---------------------------------------------------------------- Stacked MNIST


def test_stacked_channels_are_independent_draws_and_the_label_is_the_digit_triple(tmp_path):
    write_mnist(tmp_path, n_train=100)
    source = MNISTDataModule(batch_size=8, root=str(tmp_path), download=False)
    dm = StackedDataModule(source, batch_size=8, num_samples=3000, seed=1)
    assert dm.shape == (3, 32, 32) and dm.num_modes == 1000
    samples, index = dm.samples, dm.index
    assert samples.shape == (3000, 3, 32, 32)
    for channel in range(3):  # channel c of sample k is the source image index[k, c], unchanged
        assert torch.equal(samples[:, channel], source.samples[index[:, channel], 0])
    digits = source.labels[index]
    assert torch.equal(dm.digit_labels, digits)
    assert torch.equal(dm.labels, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])
    # Independent, uniform draws: channels rarely share an image, their indices are uncorrelated.
    assert (index[:, 0] == index[:, 1]).float().mean() < 0.05
    correlation = torch.corrcoef(index.T.float())
    assert (correlation - torch.eye(3)).abs().max() < 0.1
    # Items served to training are the same images as `samples`.
    dataset = dm.train_dataset()
    assert torch.equal(torch.stack([dataset[k] for k in range(50)]), samples[:50])
    chosen = torch.randperm(3000, generator=torch.Generator().manual_seed(3))[:10]
    assert torch.equal(dm.real_samples(10, seed=3), samples[chosen])


def test_stacked_digits_cover_the_thousand_modes_and_follow_the_seed():
    source = DigitsDataModule(batch_size=8, resolution=32)
    dm = StackedDataModule(source, batch_size=8, num_samples=20_000, seed=0)
    counts = torch.bincount(dm.labels, minlength=1000)
    assert len(counts) == 1000 and (counts > 0).all()  # 20 expected per mode
    assert counts.max() < 60
    first = dm.train_dataset()[7]
    assert first.shape == (3, 32, 32) and first.min() >= -1 and first.max() <= 1
    same = StackedDataModule(DigitsDataModule(batch_size=8), batch_size=8, num_samples=20_000, seed=0)
    other = StackedDataModule(DigitsDataModule(batch_size=8), batch_size=8, num_samples=20_000, seed=1)
    assert torch.equal(same.index, dm.index) and not torch.equal(other.index, dm.index)
    assert dm.reference_id == "stacked-digits-all-1x32x32-n20000-seed0" != other.reference_id


def test_stacking_needs_single_channel_digits():
    with pytest.raises(ConfigError, match="single-channel"):
        StackedDataModule(DigitsDataModule(batch_size=8, channels=3), batch_size=8)


# ---------------------------------------------------------------- image folders and zips


def folder_module(path, **options) -> FolderDataModule:
    return FolderDataModule(str(path), batch_size=4, **{"resolution": 32, "num_workers": 0, **options})


def test_corrupt_image_is_refused_before_training_with_its_path(tmp_path):
    write_image_folder(tmp_path / "imgs")
    dm = folder_module(tmp_path / "imgs")
    with pytest.raises(UnreadableDataError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert str(tmp_path / "imgs" / "b" / "broken.png") in message and "1 of 25 images" in message
    assert "data.bad_images=skip" in message


def test_folder_skips_bad_images_and_serves_the_rest(tmp_path):
    good = write_image_folder(tmp_path / "imgs")
    dm = folder_module(tmp_path / "imgs", bad_images="skip")
    with pytest.warns(UserWarning, match="broken.png"):
        dm.setup("fit")
    files = dm.train_dataset()
    assert files.names == good  # sorted, recursive, no text, hidden or broken files
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (4, 3, 32, 32) and batch.min() >= -1 and batch.max() <= 1
    assert dm.labels is None and dm.shape == (3, 32, 32)
    reference = torch.cat(list(dm.reference_dataloader(10)))
    assert reference.shape == (24, 3, 32, 32)
    assert torch.equal(reference[5], files[5])


def test_zip_gives_the_same_images_as_the_folder(tmp_path):
    write_image_folder(tmp_path / "imgs", corrupt=False)
    archive = zip_folder(tmp_path / "imgs", tmp_path / "imgs.zip")
    from_folder = folder_module(tmp_path / "imgs", channels=1, crop_size=30)
    from_zip = folder_module(archive, channels=1, crop_size=30)
    a, b = from_folder.real_samples(8, seed=2), from_zip.real_samples(8, seed=2)
    assert a.shape == (8, 1, 32, 32) and torch.equal(a, b)
    assert from_zip.train_dataset().path(0) == f"{archive}:a/img001.png"
    assert from_zip.reference_id != from_folder.reference_id
    assert from_zip.reference_id.endswith("-crop30-1x32x32") and "/" not in from_zip.reference_id


def test_zip_images_are_read_in_worker_processes(tmp_path):
    write_image_folder(tmp_path / "imgs", corrupt=False)
    dm = folder_module(zip_folder(tmp_path / "imgs", tmp_path / "imgs.zip"), num_workers=2)
    dm.setup("fit")
    assert sum(len(b) for b in dm.train_dataloader()) == 24


def test_truncated_image_found_by_decode_scan_or_handled_when_read(tmp_path):
    write_image_folder(tmp_path / "imgs", corrupt=False)
    victim = tmp_path / "imgs" / "b" / "c" / "img000.jpg"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # the header survives, half the pixels do not
    with pytest.raises(UnreadableDataError, match=r"img000\.jpg"):
        folder_module(tmp_path / "imgs", scan="decode").setup("fit")

    header_only = folder_module(tmp_path / "imgs")  # the header scan lets it through
    header_only.setup("fit")
    index = header_only.train_dataset().names.index("b/c/img000.jpg")
    with pytest.raises(UnreadableDataError, match=r"img000\.jpg"):
        header_only.train_dataset()[index]

    skipping = folder_module(tmp_path / "imgs", bad_images="skip")
    with pytest.warns(UserWarning, match=r"img000\.jpg"):
        replacement = skipping.train_dataset()[index]
    assert torch.equal(replacement, skipping.train_dataset()[index + 1])


def test_images_smaller_than_the_crop_are_reported(tmp_path):
    write_image_folder(tmp_path / "imgs", corrupt=False)
    with pytest.raises(UnreadableDataError, match="smaller than crop_size 40"):
        folder_module(tmp_path / "imgs", crop_size=40).setup("fit")


@pytest.mark.parametrize("make", ["missing", "empty", "text file"])
def test_folder_without_images_names_the_path(make, tmp_path):
    path = tmp_path / "data"
    if make == "empty":
        path.mkdir()
    elif make == "text file":
        path.write_text("hello")
    with pytest.raises(DataNotFoundError, match=f"{path} .*data.path"):
        folder_module(path).prepare_data()


def test_bad_options_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="channels"):
        folder_module(tmp_path, channels=2)
    with pytest.raises(ConfigError, match="bad_images"):
        folder_module(tmp_path, bad_images="ignore")
    with pytest.raises(ConfigError, match="reference_split"):
        CIFAR10DataModule(batch_size=8, reference_split="val")
    with pytest.raises(ConfigError, match="split"):
        CelebADataModule(batch_size=8, split="training")


def test_image_transform_crops_the_centre_then_resizes():
    pixels = np.zeros((218, 178, 3), dtype=np.uint8)
    pixels[55:163, 35:143] = 255  # a white 108x108 square in the centre of a black face-sized image
    crop = ImageTransform(64, channels=3, crop_size=108)(Image.fromarray(pixels))
    assert crop.shape == (3, 64, 64) and torch.equal(crop, torch.ones_like(crop))
    whole = ImageTransform(32, channels=1)(Image.fromarray(pixels))  # largest square: 178x178
    assert whole.shape == (1, 32, 32) and whole.min() == -1 and whole.max() == 1


# ---------------------------------------------------------------- CelebA


def test_celeba_follows_the_partition_file_and_crops_to_64(tmp_path):
    names = write_celeba(tmp_path)
    everything = CelebADataModule(batch_size=4, root=str(tmp_path), download=False, num_workers=0)
    everything.setup("fit")
    assert everything.train_dataset().names == names
    train = CelebADataModule(
        batch_size=4, root=str(tmp_path), download=False, split="train", reference_split="test", num_workers=0
    )
    assert train.train_dataset().names == names[:32]
    assert train.reference_dataset().names == names[36:]
    batch = train.real_samples(6, seed=0)
    assert batch.shape == (6, 3, 64, 64) and batch.min() >= -1 and batch.max() <= 1
    assert train.reference_id == "celeba-test-crop108-3x64x64"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pin_memory warning on a CPU-only machine
        assert len(torch.cat(list(train.reference_dataloader(3)))) == 4


def test_celeba_with_images_missing_names_them(tmp_path):
    write_celeba(tmp_path)
    (tmp_path / "celeba" / "img_align_celeba" / "000007.jpg").unlink()
    with pytest.raises(DataNotFoundError, match=r"1 of the 40 all images.*000007\.jpg"):
        CelebADataModule(batch_size=4, root=str(tmp_path), download=False).setup("fit")


def test_celeba_download_without_network_fails_fast(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    def unreachable(*args, **kwargs):  # what gdown (or its absence) ends in without a network
        raise RuntimeError("To download files from GDrive, 'gdown' is required.")

    monkeypatch.setattr(tv_utils, "download_file_from_google_drive", unreachable)
    monkeypatch.setattr("torchvision.datasets.celeba.download_file_from_google_drive", unreachable)
    with pytest.raises(DataNotFoundError, match="gdown") as error:
        CelebADataModule(batch_size=4, root=str(tmp_path), download=True).prepare_data()
    assert "mmlab.ie.cuhk.edu.hk" in str(error.value) and str(tmp_path / "celeba") in str(error.value)
