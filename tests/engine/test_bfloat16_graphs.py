"""The graph pass that lets ONNX Runtime's CPU provider run bfloat16 networks: float32 arithmetic, bfloat16 storage."""

import ml_dtypes
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspection.engine.export.bfloat16 import float32_arithmetic_bfloat16_storage, tensor_types

RNG = np.random.default_rng(7)
IMAGE = RNG.normal(size=(1, 2, 6, 6)).astype(np.float32)
KERNEL = RNG.normal(size=(3, 2, 3, 3)).astype(np.float32)
BIAS = RNG.normal(size=(1, 3, 1, 1)).astype(np.float32)


def as_bfloat16(values: np.ndarray) -> np.ndarray:
    return values.astype(ml_dtypes.bfloat16)


def graph_of(nodes, initializers, output_type=TensorProto.FLOAT) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "network",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 2, 6, 6])],
        [helper.make_tensor_value_info("features", output_type, [1, 3, 4, 4])],
        initializer=initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def bfloat16_network() -> onnx.ModelProto:
    """image -> bfloat16 -> convolution -> + bias -> ReLU -> float32, as tf2onnx writes a mixed-precision layer."""
    return graph_of(
        [
            helper.make_node("Cast", ["image"], ["image_bf16"], to=TensorProto.BFLOAT16),
            helper.make_node("Conv", ["image_bf16", "kernel"], ["convolved"]),
            helper.make_node("Add", ["convolved", "bias"], ["biased"]),
            helper.make_node("Relu", ["biased"], ["activated"]),
            helper.make_node("Cast", ["activated"], ["features"], to=TensorProto.FLOAT),
        ],
        [numpy_helper.from_array(as_bfloat16(KERNEL), "kernel"), numpy_helper.from_array(as_bfloat16(BIAS), "bias")],
    )


def session(model: onnx.ModelProto):
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def expected_features() -> np.ndarray:
    """Each operation in float32 on bfloat16 numbers, its result rounded to bfloat16 (as oneDNN's kernels round)."""
    image, kernel = as_bfloat16(IMAGE).astype(np.float32), as_bfloat16(KERNEL).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(image[0], (3, 3), axis=(1, 2))  # (2, 4, 4, 3, 3)
    convolved = np.einsum("chwij,ocij->ohw", windows, kernel, dtype=np.float64).astype(np.float32)[None]
    convolved = as_bfloat16(convolved).astype(np.float32)
    biased = as_bfloat16(convolved + as_bfloat16(BIAS).astype(np.float32)).astype(np.float32)
    return np.maximum(biased, 0.0)


def test_onnx_runtime_cannot_run_the_bfloat16_graph_as_traced():
    with pytest.raises(Exception, match="bfloat16"):
        session(bfloat16_network())


def test_the_rewritten_graph_runs_and_rounds_to_bfloat16_after_each_operation():
    rewritten = float32_arithmetic_bfloat16_storage(bfloat16_network())
    features = session(rewritten).run(None, {"image": IMAGE})[0]
    np.testing.assert_allclose(features, expected_features(), rtol=1e-6, atol=1e-6)
    # Really stored in bfloat16 between operations: a float32 graph gives other numbers.
    assert not np.allclose(features, expected_features_in_float32(), rtol=1e-5, atol=1e-6)


def expected_features_in_float32() -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(IMAGE[0], (3, 3), axis=(1, 2))
    return np.maximum(np.einsum("chwij,ocij->ohw", windows, KERNEL)[None] + BIAS, 0.0)


def test_the_rewrite_keeps_every_tensor_name_and_type_that_other_nodes_read():
    original, rewritten = bfloat16_network(), float32_arithmetic_bfloat16_storage(bfloat16_network())
    before, after = tensor_types(original), tensor_types(rewritten)
    weights = {initializer.name for initializer in original.graph.initializer}  # replaced by float32 copies
    assert {name: after[name] for name in before if name not in weights} == {
        name: kind for name, kind in before.items() if name not in weights
    }
    computing = [node for node in rewritten.graph.node if node.op_type != "Cast"]
    assert all(after[name] == TensorProto.FLOAT for node in computing for name in [*node.input, *node.output])
    assert {initializer.data_type for initializer in rewritten.graph.initializer} == {TensorProto.FLOAT}


def test_a_float32_graph_is_left_unchanged():
    float32_network = graph_of(
        [
            helper.make_node("Conv", ["image", "kernel"], ["convolved"]),
            helper.make_node("Relu", ["convolved"], ["features"]),
        ],
        [numpy_helper.from_array(KERNEL, "kernel")],
    )
    rewritten = float32_arithmetic_bfloat16_storage(float32_network)
    assert rewritten.SerializeToString() == float32_network.SerializeToString()
