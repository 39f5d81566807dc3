"""The package every account-center service imports: contracts, settings and plumbing."""
