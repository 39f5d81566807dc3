"""Cancellation's use cases: projections of other services' facts, and applications."""
