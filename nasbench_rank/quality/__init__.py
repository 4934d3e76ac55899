"""Predictor quality: the protocol that fits a predictor on seeded training cells and scores
held-out cells (pools, splits, metrics, zero-shot transfer). See `protocol`."""
