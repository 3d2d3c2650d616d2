"""Shared pytest fixtures for the unit tests."""
