"""Helpers for testing apps that use authkit-middleware (and for our own suite)."""
