"""Reading PyTorch ``state_dict`` checkpoints without PyTorch, and without running code.

``torch.save`` writes pickles, and a general pickle load runs whatever the file
names. This reader resolves only the handful of globals a state_dict of plain
tensors needs (``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2``
and the typed storage classes) and refuses anything else before it is
touched. Tensor views are bounds-checked against their storage before any
strided read. Only the pre-1.6 (non-zip) format is implemented: it is the
format of the EfficientNet-Lite0 weights the engine ships with.
"""

from __future__ import annotations

import collections
import os
import pickle
import struct
import zipfile

import numpy as np

from ..errors import EngineError

TORCH_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


class _TensorRecipe:
    """A tensor as the pickle describes it: a view into a storage read later."""

    def __init__(self, storage_key, offset, size, stride):
        self.storage_key, self.offset, self.size, self.stride = storage_key, int(offset), tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *extra):
    return _TensorRecipe(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the few globals a state_dict needs; anything else is refused."""

    def __init__(self, handle):
        super().__init__(handle)
        self.storages: dict[str, tuple[np.dtype, int]] = {}

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in TORCH_STORAGE_DTYPES:
            return _StorageType(TORCH_STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, persistent_id):
        if not (isinstance(persistent_id, tuple) and persistent_id[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {persistent_id!r}")
        _, storage_type, key, _location, numel = persistent_id[:5]
        if len(persistent_id) > 5 and persistent_id[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("unexpected storage type")
        self.storages[str(key)] = (storage_type.dtype, int(numel))
        return str(key)


def read_torch_legacy_checkpoint(path: os.PathLike | str) -> dict[str, np.ndarray]:
    """Tensors of a state_dict saved by ``torch.save`` in the pre-1.6 (non-zip) format.

    That format is: pickled magic number, protocol version and system info,
    the pickled state_dict whose tensors refer to storages by key, the pickled
    list of storage keys, then per key an int64 element count and raw data.
    """
    with open(path, "rb") as handle:
        if zipfile.is_zipfile(handle):
            raise EngineError(f"{path}: zip-format PyTorch checkpoints are not supported")
        handle.seek(0)
        header = [_RestrictedUnpickler(handle).load() for _ in range(3)]
        if header[0] != TORCH_LEGACY_MAGIC or not header[2].get("little_endian", False):
            raise EngineError(f"{path} is not a little-endian legacy PyTorch checkpoint")
        unpickler = _RestrictedUnpickler(handle)
        state = unpickler.load()
        storage_keys = _RestrictedUnpickler(handle).load()
        buffers = {}
        for key in storage_keys:
            dtype, numel = unpickler.storages[str(key)]
            (stored_numel,) = struct.unpack("<q", handle.read(8))
            if stored_numel != numel:
                raise EngineError(f"{path}: storage {key} has {stored_numel} elements, expected {numel}")
            raw = handle.read(numel * dtype.itemsize)
            if len(raw) != numel * dtype.itemsize:
                raise EngineError(f"{path} is truncated")
            buffers[str(key)] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    arrays = {}
    for name, recipe in state.items():
        if not isinstance(recipe, _TensorRecipe):
            raise EngineError(f"{path}: entry {name} is not a tensor")
        arrays[name] = _materialise(recipe, buffers[recipe.storage_key], name)
    return arrays


def _materialise(recipe: _TensorRecipe, buffer: np.ndarray, name: str) -> np.ndarray:
    # Bounds are checked before as_strided, which would otherwise read
    # arbitrary memory for a malicious size/stride.
    if any(s < 0 for s in recipe.size) or any(s < 0 for s in recipe.stride):
        raise EngineError(f"tensor {name} has a negative size or stride")
    last = recipe.offset + sum((n - 1) * s for n, s in zip(recipe.size, recipe.stride) if n > 0)
    if 0 in recipe.size:
        return np.zeros(recipe.size, dtype=buffer.dtype)
    if recipe.offset < 0 or last >= buffer.size:
        raise EngineError(f"tensor {name} lies outside its storage")
    view = np.lib.stride_tricks.as_strided(
        buffer[recipe.offset :],
        shape=recipe.size,
        strides=tuple(s * buffer.itemsize for s in recipe.stride),
        writeable=False,
    )
    return np.array(view, dtype=buffer.dtype.newbyteorder("="))
