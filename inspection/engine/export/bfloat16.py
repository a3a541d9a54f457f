"""ONNX graphs of networks that run in bfloat16, made runnable by ONNX Runtime's CPU provider.

A model fitted with ``precision_ = "bfloat16"`` computes its backbone with
Keras' mixed policy: weights and activations are stored in bfloat16 between
layers. tf2onnx traces that faithfully once it knows what bfloat16 is
(:func:`bfloat16_aware_tf2onnx`), but ONNX Runtime's CPU provider has almost
no bfloat16 kernels (no convolutions, additions or clips; ``Cast`` to and from
bfloat16 it has). :func:`float32_arithmetic_bfloat16_storage` therefore
rewrites the graph so that each such node reads its bfloat16 inputs cast to
float32, computes in float32 and has its outputs cast back to bfloat16: the
values stored between operations are the same bfloat16 numbers, and each
operation rounds once, at its output, as oneDNN's bfloat16 kernels do
(float32 accumulation, bfloat16 result). It cannot add a convolution's
products in oneDNN's order, though, so a few values round the other way, and
through a deep backbone scores drift further than an archive may: bfloat16
models are refused by :mod:`.plans` (measured figures there), and these graphs
are written only to measure that drift (``allow_inexact_bfloat16``).
"""

from __future__ import annotations

import contextlib

BFLOAT16 = 16  # onnx.TensorProto.BFLOAT16
FLOAT = 1  # onnx.TensorProto.FLOAT
# Operators ONNX Runtime runs on bfloat16 tensors on a CPU: the conversions themselves.
NATIVE_BFLOAT16_OPERATORS = frozenset({"Cast"})


@contextlib.contextmanager
def bfloat16_aware_tf2onnx():
    """tf2onnx (1.17) with TensorFlow's bfloat16 mapped to ONNX's bfloat16, for the duration of a conversion.

    tf2onnx maps ``DT_BFLOAT16`` to ONNX float16, which writes casts to
    float16 next to bfloat16 weights (a graph ONNX Runtime refuses, and
    float16 rounds differently), and its constant folding cannot name numpy's
    bfloat16. Both tables are restored afterwards.
    """
    import onnx
    import tensorflow as tf
    from tensorflow.core.framework import types_pb2
    from tf2onnx import tf_utils, utils

    saved_tf_type = tf_utils.TF_TO_ONNX_DTYPE[types_pb2.DT_BFLOAT16]
    saved_numpy_type = utils.ONNX_TO_NUMPY_DTYPE.get(onnx.TensorProto.BFLOAT16)
    tf_utils.TF_TO_ONNX_DTYPE[types_pb2.DT_BFLOAT16] = onnx.TensorProto.BFLOAT16
    utils.ONNX_TO_NUMPY_DTYPE[onnx.TensorProto.BFLOAT16] = tf.bfloat16.as_numpy_dtype
    try:
        yield
    finally:
        tf_utils.TF_TO_ONNX_DTYPE[types_pb2.DT_BFLOAT16] = saved_tf_type
        if saved_numpy_type is None:
            del utils.ONNX_TO_NUMPY_DTYPE[onnx.TensorProto.BFLOAT16]
        else:
            utils.ONNX_TO_NUMPY_DTYPE[onnx.TensorProto.BFLOAT16] = saved_numpy_type


def tensor_types(model) -> dict[str, int]:
    """ONNX element type of every named tensor of the graph (inputs, outputs, initializers, intermediates)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    types = {
        value.name: value.type.tensor_type.elem_type
        for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]
    }
    types.update({initializer.name: initializer.data_type for initializer in inferred.graph.initializer})
    return types


def float32_arithmetic_bfloat16_storage(model):
    """A copy of ``model`` whose bfloat16 nodes compute in float32 between casts; a graph without
    bfloat16 comes back unchanged (equal protobuf).

    bfloat16 initializers read by such nodes become float32 initializers
    (exact: every bfloat16 number is a float32 number); other bfloat16 inputs
    get a ``Cast`` to float32, and bfloat16 outputs are computed under a new
    name and cast back to bfloat16 under the original one, so that every
    consumer, and the graph's outputs, see the same tensors as before.
    """
    import onnx
    from onnx import helper, numpy_helper

    types = tensor_types(model)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    graph = rewritten.graph
    initializers = {initializer.name: initializer for initializer in graph.initializer}
    widened: dict[str, str] = {}  # bfloat16 tensor -> its float32 copy
    nodes = []

    def as_float32(name: str) -> str:
        if name not in widened:
            widened[name] = f"{name}__float32"
            if name in initializers:
                values = numpy_helper.to_array(initializers[name]).astype("float32")
                graph.initializer.append(numpy_helper.from_array(values, widened[name]))
            else:
                nodes.append(helper.make_node("Cast", [name], [widened[name]], to=FLOAT, name=f"{name}__to_float32"))
        return widened[name]

    changed = False
    for original in model.graph.node:
        node = onnx.NodeProto()
        node.CopyFrom(original)
        if node.op_type in NATIVE_BFLOAT16_OPERATORS or not any(
            types.get(name) == BFLOAT16 for name in [*node.input, *node.output] if name
        ):
            nodes.append(node)
            continue
        changed = True
        for index, name in enumerate(node.input):
            if name and types.get(name) == BFLOAT16:
                node.input[index] = as_float32(name)
        narrowed = []
        for index, name in enumerate(node.output):
            if name and types.get(name) == BFLOAT16:
                node.output[index] = f"{name}__computed_in_float32"
                narrowed.append(
                    helper.make_node("Cast", [node.output[index]], [name], to=BFLOAT16, name=f"{name}__to_bfloat16")
                )
        nodes.extend([node, *narrowed])
    if not changed:
        return model
    # Initializers replaced by float32 copies and read by nothing else are dropped.
    still_read = {name for node in nodes for name in node.input} | {output.name for output in graph.output}
    kept = [initializer for initializer in graph.initializer if initializer.name in still_read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(nodes)
    # Intermediate types recorded by the converter would now contradict the rewritten nodes.
    del graph.value_info[:]
    onnx.checker.check_model(rewritten)
    return rewritten
