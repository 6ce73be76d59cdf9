"""Keras colorization networks, their trainer and evaluation."""
