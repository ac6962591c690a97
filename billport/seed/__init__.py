"""Deterministic synthetic billing data."""
