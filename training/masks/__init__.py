"""Hole masks for training and evaluation (True = hole): NVIDIA irregular bins, free-form strokes, lip region."""
