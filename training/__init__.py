"""Training, evaluation and export of the inpainting networks on open face data only (no Qt)."""
