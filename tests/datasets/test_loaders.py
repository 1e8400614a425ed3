import io
import pickle
import tarfile

import numpy as np
import pytest

from mrambnn.datasets import DataError, load_dataset
from mrambnn.datasets.cifar_archive import read_cifar10_python_archive
from mrambnn.datasets.idx import read_idx


def test_mnist_is_the_official_split(mnist) -> None:
    assert mnist.x_train.shape == (60000, 28, 28, 1) and mnist.x_test.shape == (10000, 28, 28, 1)
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.y_test).tolist()[:3] == [980, 1135, 1032]


def test_idx_reader_and_truncation(tmp_path) -> None:
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in data.shape)
    (tmp_path / "ok").write_bytes(header + data.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "ok"), data)
    (tmp_path / "cut").write_bytes(header + data.tobytes()[:-1])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "cut")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="not an unsigned-byte IDX"):
        read_idx(tmp_path / "bad")


def test_missing_and_corrupt_mnist_say_how_to_get_it(tmp_path) -> None:
    with pytest.raises(DataError, match="mrambnn data fetch mnist"):
        load_dataset("mnist", tmp_path)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / stem).write_bytes(b"\x00" * 16)
    with pytest.raises(DataError, match="corrupt"):
        load_dataset("mnist", tmp_path)


def test_unknown_dataset_names_the_choices() -> None:
    with pytest.raises(ValueError, match="mnist, fashion-mnist, cifar10"):
        load_dataset("imagenet")


def _batch(n: int, seed: int) -> tuple[bytes, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    return pickle.dumps({b"data": data, b"labels": labels}, protocol=2), data, labels


def _archive(path, batches: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def test_cifar_python_archive_is_read_without_general_unpickling(tmp_path) -> None:
    batches, expected = {}, {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        batches[name], data, labels = _batch(4, i)
        expected[name] = (data, labels)
    _archive(tmp_path / "cifar.tar.gz", batches)
    arrays = read_cifar10_python_archive(tmp_path / "cifar.tar.gz")
    assert arrays["x_train"].shape == (20, 32, 32, 3) and arrays["x_test"].shape == (4, 32, 32, 3)
    data, labels = expected["test_batch"]
    # The python archive is channel-major (3, 32, 32) per row; we return HWC.
    np.testing.assert_array_equal(arrays["x_test"][1, :, :, 0].ravel(), data[1, :1024])
    assert arrays["y_test"].tolist() == labels


class _Evil:
    def __reduce__(self):
        return (print, ("owned",))


def test_cifar_archive_with_code_in_a_pickle_is_refused(tmp_path) -> None:
    batches = {f"data_batch_{k}": _batch(2, k)[0] for k in range(1, 6)}
    batches["test_batch"] = pickle.dumps({b"data": _Evil(), b"labels": [0]}, protocol=2)
    _archive(tmp_path / "evil.tar.gz", batches)
    with pytest.raises(DataError, match="refusing"):
        read_cifar10_python_archive(tmp_path / "evil.tar.gz")


def _mnist_test_files(folder):
    """The two official MNIST test files (only) copied into ``folder``."""
    import shutil

    from mrambnn.datasets.locations import data_roots

    source = next(root / "mnist" for root, _ in data_roots()
                  if (root / "mnist" / "t10k-images-idx3-ubyte").is_file())
    folder.mkdir(parents=True)
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(source / stem, folder / stem)


def test_the_test_split_alone_loads_from_a_folder_or_a_root(tmp_path) -> None:
    from mrambnn.datasets import load_test_set

    _mnist_test_files(tmp_path / "root" / "mnist")
    for path in (tmp_path / "root", tmp_path / "root" / "mnist"):
        data = load_test_set("mnist", path)
        assert data.x_test.shape == (10000, 28, 28, 1) and data.x_train.shape == (0, 28, 28, 1)
        assert data.image_shape == (28, 28, 1)
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):  # training needs both
        load_dataset("mnist", tmp_path / "root")


def test_data_root_from_the_environment_or_the_user_config(tmp_path, monkeypatch) -> None:
    from mrambnn.datasets import default_data_dir, load_test_set
    from mrambnn.datasets.locations import data_roots

    _mnist_test_files(tmp_path / "env" / "mnist")
    monkeypatch.setenv("MRAMBNN_DATA_DIR", str(tmp_path / "env"))
    assert default_data_dir() == tmp_path / "env"
    assert load_test_set("mnist").x_test.shape[0] == 10000
    monkeypatch.delenv("MRAMBNN_DATA_DIR")
    config = tmp_path / "xdg" / "mrambnn" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'data_dir = "{tmp_path / "env"}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert data_roots()[0] == (tmp_path / "env", f"data_dir in {config}")
    assert default_data_dir() == tmp_path / "env"
    config.write_text('data_root = "/x"\n')
    with pytest.raises(ValueError, match="unknown key data_root; valid: data_dir"):
        data_roots()


def test_a_data_set_found_nowhere_names_every_folder_searched(tmp_path, monkeypatch) -> None:
    from mrambnn.datasets import load_test_set

    monkeypatch.setenv("MRAMBNN_DATA_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("MRAMBNN_CIFAR10", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    with pytest.raises(DataError) as error:
        load_test_set("fashion-mnist", tmp_path / "given")
    message = str(error.value)
    assert f"searched {tmp_path / 'given'}, {tmp_path / 'given' / 'fashion-mnist'};" in message
    monkeypatch.setattr("mrambnn.datasets.locations.CHECKOUT", tmp_path / "checkout")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    with pytest.raises(DataError) as error:
        load_test_set("mnist")
    message = str(error.value)
    assert (f"searched {tmp_path / 'a' / 'mnist'}, {tmp_path / 'share' / 'mrambnn' / 'mnist'};"
            in message and "\n" not in message)
