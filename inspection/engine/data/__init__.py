"""Getting pictures in, before any model sees them.

``imageio`` reads image files and uploads, refusing what is not a complete
image, into float32 arrays in [0, 1]; ``dataset`` reads data sets in the
MVTec layout (``train/good``, ``test/<type>``, ``ground_truth``); ``synth``
renders synthetic zipper-cursor sets in that layout for demos, tests and
benchmarks.
"""
