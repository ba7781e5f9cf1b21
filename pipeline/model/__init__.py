"""What Transform, the Trainer and the ablation run: preprocessing, the Keras model, its
training data and exported signatures. `module_file.py` is the thin TFX entry file over it.

Importing this package imports nothing heavy: `outputs` (signature and output names) is
read by the eval config and the reports, which must not load TensorFlow for it.
"""
