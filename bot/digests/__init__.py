"""Scheduled digests: what the stored history says about watched hosts and domains."""
