"""Evaluation metrics: small pure functions, each with the definition it follows."""
