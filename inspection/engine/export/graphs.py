"""Networks of a fitted method converted to ONNX with tf2onnx.

What worked with TensorFlow 2.20 / Keras 3: ``tf2onnx.convert.from_keras``
expects Keras 2 internals, so each network is converted through a
``tf.function`` that calls the Keras model (``tf2onnx.convert.from_function``),
with the engine's own traced forward passes (preprocessing, backbone and
pooling in one graph) reused as they are. Spatial sizes are fixed to the
model's working size; the batch axis stays free. Networks that run in
bfloat16 are traced as they are and rewritten for ONNX Runtime's CPU provider
(:mod:`.bfloat16`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

ONNX_OPSET = 17


def convert(function: Callable, input_specs: Sequence[tuple[str, Sequence]], *, precision: str = "float32") -> bytes:
    """ONNX bytes of ``function`` traced for float32 inputs of the given (name, shape) specs.

    ``precision``: the one the function's network computes in ("float32" or
    "bfloat16"); a bfloat16 graph comes out with float32 arithmetic between
    bfloat16 casts (see :mod:`.bfloat16`).
    """
    import tensorflow as tf
    import tf2onnx

    from ..networks.precision import USED_PRECISIONS, checked_precision
    from .bfloat16 import bfloat16_aware_tf2onnx, float32_arithmetic_bfloat16_storage

    checked_precision(precision, USED_PRECISIONS)
    signature = [tf.TensorSpec(shape, tf.float32, name=name) for name, shape in input_specs]
    traced = tf.function(getattr(function, "python_function", function))
    if precision == "float32":
        model_proto, _ = tf2onnx.convert.from_function(traced, input_signature=signature, opset=ONNX_OPSET)
        return model_proto.SerializeToString()
    with bfloat16_aware_tf2onnx():
        model_proto, _ = tf2onnx.convert.from_function(traced, input_signature=signature, opset=ONNX_OPSET)
    return float32_arithmetic_bfloat16_storage(model_proto).SerializeToString()


def convert_keras(model, input_specs: Sequence[tuple[str, Sequence]]) -> bytes:
    """ONNX bytes of a (possibly multi-input) Keras model run in inference mode.

    Activity regularisers are switched off while tracing: they only add a
    training loss, and the constant they leave in the traced graph makes
    tf2onnx's graph optimiser fail ("Fetch node ... doesn't exist in graph").
    """
    regularised = [layer for layer in model.layers if getattr(layer, "activity_regularizer", None) is not None]
    saved = [layer.activity_regularizer for layer in regularised]

    def forward(*inputs):
        return model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)

    try:
        for layer in regularised:
            layer.activity_regularizer = None
        return convert(forward, input_specs)
    finally:
        for layer, regulariser in zip(regularised, saved, strict=True):
            layer.activity_regularizer = regulariser
