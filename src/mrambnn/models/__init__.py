"""The trained BNNs shipped with mrambnn, in packed form (weights + folded thresholds).

Each entry names its file; the file's metadata holds the training configuration, seed,
the command that reproduces it and the test accuracy measured by the packed engine.
"""

from pathlib import Path

from mrambnn.engine import PackedNet, load_packed_net

__all__ = ["ERROR_AWARE", "SHIPPED_MODELS", "dataset_of", "load_model", "resolve_model_path"]

_HERE = Path(__file__).resolve().parent
SHIPPED_MODELS: dict[str, str] = {
    "mnist-mlp": "mnist-mlp-3x1024.npz",
    "fashion-conv": "fashion-conv.npz",
    "cifar-vgg": "cifar-vgg.npz",
    "tiny-vgg": "tiny-vgg.npz",
}
# Each standard network and its shipped error-aware twin (none shipped yet: a first
# fine-tuning from the packed networks left their binary weights unchanged, see README).
ERROR_AWARE: dict[str, str] = {}


def resolve_model_path(name_or_path: str | Path) -> Path:
    """Path of a shipped model name, or the given path if it names a file.

    Raises ValueError naming the shipped models when it is neither.
    """
    if str(name_or_path) in SHIPPED_MODELS:
        return _HERE / SHIPPED_MODELS[str(name_or_path)]
    path = Path(name_or_path)
    if path.suffix == ".npz" or path.exists():
        return path
    raise ValueError(f"unknown model {str(name_or_path)!r}; choose one of "
                     f"{', '.join(SHIPPED_MODELS)} or give the path of a .npz model file")


def load_model(name_or_path: str | Path) -> PackedNet:
    """Load a shipped model by name, or a packed model file by path."""
    return load_packed_net(resolve_model_path(name_or_path))


def dataset_of(net: PackedNet, given: str | None = None, *, where: str = "the model") -> str:
    """The data set ``net`` is evaluated on: ``given`` (a user's --dataset) or the one its
    metadata names. ValueError if neither says, or if they disagree (a network is not
    silently evaluated on another data set)."""
    stored = net.metadata.get("dataset")
    if given is not None and stored is not None and given != stored:
        raise ValueError(f"{where} was trained on {stored}, not {given}; drop --dataset or "
                         "give the model's own data set")
    chosen = given or stored
    if chosen is None:
        raise ValueError(f"{where} does not say which data set it needs (no 'dataset' in "
                         "its metadata); give --dataset")
    return str(chosen)
