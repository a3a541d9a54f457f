"""The neural networks, what trains and runs them, and where their weights come from.

``backbones`` builds the ImageNet CNNs (Xception, EfficientNet-Lite0), cut
before global pooling; ``cpcae_network`` is the plain Keras autoencoder and
``cpcae_trainer`` trains and runs it on patches cut and stitched by
``cpcae_patches``; ``weights`` resolves pretrained weights offline, reading
PyTorch checkpoints with ``torch_checkpoint``.
"""
