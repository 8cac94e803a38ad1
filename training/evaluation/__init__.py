"""Evaluation apart from training: a pure image-pair scorer and a runner over registered models."""
