"""Talking to the exported model: raw tf.Examples in the serving signature's format."""
