"""The four account-center services."""
