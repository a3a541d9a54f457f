"""Turning images and anomaly maps into vectors, and scoring vectors by their nearest normal neighbours.

``map_embedding`` embeds anomaly maps with an ImageNet backbone and the
paper's pooling; ``knn`` scores an embedding by its mean distance to the k
nearest standardised training embeddings. For ``patch-knn``,
``patch_features`` makes one vector per image patch and selects the coreset,
and ``memory_bank`` finds each patch's nearest normal patch.
"""
