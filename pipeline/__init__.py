"""Beam pipelines: preprocessing to TFRecords and bulk colorization."""
