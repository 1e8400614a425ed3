"""Save and load a `PackedNet` as a NumPy ``.npz`` file, never unpickling.

Layout: ``meta`` holds a JSON string (format tag, version, input shape, per-layer kinds,
metadata); ``layer{i}_{field}`` hold the arrays. Loading uses ``allow_pickle=False`` and
checks every array, so a corrupt or foreign file gives a `ModelFileError`.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from mrambnn.engine.conv import Conv
from mrambnn.engine.layers import Affine, Dense, Threshold
from mrambnn.engine.network import Layer, PackedNet

__all__ = ["FORMAT", "ModelFileError", "load_packed_net", "read_model_arrays", "read_model_meta",
           "save_packed_net", "write_npz_atomic"]

FORMAT = "mrambnn.packednet/1"


class ModelFileError(ValueError):
    """A model file is missing, corrupt or not a mrambnn packed network."""


def save_packed_net(net: PackedNet, path: Path) -> None:
    """Write ``net`` to ``path`` (.npz) atomically (temporary file, then rename)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    layer_meta = []
    for i, layer in enumerate(net.layers):
        arrays[f"layer{i}_weight_words"] = layer.weight_words
        if isinstance(layer.head, Threshold):
            arrays[f"layer{i}_threshold"] = layer.head.threshold.astype(np.int64)
            arrays[f"layer{i}_direction"] = layer.head.direction.astype(np.int8)
            head = "threshold"
        else:
            arrays[f"layer{i}_scale"] = layer.head.scale.astype(np.float64)
            arrays[f"layer{i}_offset"] = layer.head.offset.astype(np.float64)
            head = "affine"
        spec = {"kind": "dense", "in_features": layer.in_features,
                "integer_input": layer.integer_input, "head": head}
        if isinstance(layer, Conv):
            spec.update(kind="conv", in_shape=list(layer.in_shape),
                        filter_size=layer.filter_size, pool=layer.pool, padding=layer.padding)
        layer_meta.append(spec)
    if net.input_levels is not None:
        arrays["input_levels"] = net.levels
    meta = {"format": FORMAT, "input_shape": list(net.input_shape),
            "input_offset": net.input_offset, "layers": layer_meta, "metadata": net.metadata}
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz_atomic(path, arrays)


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to the .npz file ``path`` atomically (temporary file, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez_compressed(stream, **arrays)  # type: ignore[arg-type]
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# Deflate compresses at most about 1032:1: an array declaring more bytes than that many
# times its compressed size (plus a margin) cannot be in the file.
_MAX_RATIO = 1100


def _check_declared_sizes(path: Path) -> None:
    """Refuse a file whose array headers declare more data than the file can hold (such
    a header would make loading allocate it all before failing)."""
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                shape, _, dtype = (np.lib.format.read_array_header_1_0(stream)
                                   if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0(stream))
            declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if declared > _MAX_RATIO * member.compress_size + 2**20:
                raise ModelFileError(f"{path}: array {member.filename} declares {declared} "
                                     "bytes, more than the file holds")


def read_model_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a model file (.npz, never unpickled); `ModelFileError` otherwise."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist or is not a regular file")
    try:
        _check_declared_sizes(path)
        # Open the file ourselves: np.load leaks its handle when the zip is truncated.
        with open(path, "rb") as stream, np.load(stream, allow_pickle=False) as content:
            return {key: content[key] for key in content.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, MemoryError) as error:
        raise ModelFileError(f"{path} is not a readable .npz model file: {error}") from error


def read_model_meta(path: Path, arrays: dict[str, np.ndarray], tag: str, kind: str
                    ) -> dict:
    """The JSON metadata of a model file's ``arrays``, checked to carry format ``tag``
    (a mrambnn ``kind``); `ModelFileError` naming ``path`` otherwise."""
    try:
        meta = json.loads(str(arrays["meta"]))
    except (KeyError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{path} has no valid mrambnn metadata") from error
    if not isinstance(meta, dict) or meta.get("format") != tag:
        raise ModelFileError(f"{path} is not a mrambnn {kind} (format {tag})")
    return meta


def load_packed_net(path: Path) -> PackedNet:
    """Read a `PackedNet` written by `save_packed_net`; raises `ModelFileError` otherwise."""
    path = Path(path)
    arrays = read_model_arrays(path)
    meta = read_model_meta(path, arrays, FORMAT, "packed network")
    try:
        layers: list[Layer] = []
        for i, spec in enumerate(meta["layers"]):
            if spec["head"] == "threshold":
                head: Threshold | Affine = Threshold(
                    threshold=arrays[f"layer{i}_threshold"].astype(np.int64),
                    direction=arrays[f"layer{i}_direction"].astype(np.int8))
            else:
                head = Affine(scale=arrays[f"layer{i}_scale"].astype(np.float64),
                              offset=arrays[f"layer{i}_offset"].astype(np.float64))
            words = arrays[f"layer{i}_weight_words"]
            if spec["kind"] == "conv" and isinstance(head, Threshold):
                ih, iw, ic = (int(v) for v in spec["in_shape"])
                # files written before the field was named filter_size call it kernel
                size = spec["filter_size"] if "filter_size" in spec else spec["kernel"]
                layers.append(Conv(weight_words=words, in_shape=(ih, iw, ic),
                                   filter_size=int(size), pool=bool(spec["pool"]),
                                   integer_input=bool(spec["integer_input"]), head=head,
                                   padding=None if spec.get("padding") is None
                                   else int(spec["padding"])))
            elif spec["kind"] == "dense":
                layers.append(Dense(weight_words=words, in_features=int(spec["in_features"]),
                                    integer_input=bool(spec["integer_input"]), head=head))
            else:
                raise ValueError(f"layer {i} has unknown kind {spec['kind']!r}")
        h, w, c = (int(v) for v in meta["input_shape"])
        return PackedNet(layers=tuple(layers), input_shape=(h, w, c),
                         input_offset=int(meta.get("input_offset", 0)),
                         input_levels=arrays.get("input_levels"),
                         metadata=dict(meta.get("metadata", {})))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFileError(f"{path} is a corrupt mrambnn model: {error}") from error
