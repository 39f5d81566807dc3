"""The cancellation service."""
