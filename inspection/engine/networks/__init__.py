"""The neural networks and what drives them.

Plain networks (``backbones``, ``cpcae_network``) are kept apart from the code
that trains and runs them (``cpcae_trainer``, ``cpcae_patches``), and from
where their pretrained weights come from (``weights``, ``torch_checkpoint``).
"""
