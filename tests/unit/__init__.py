"""Unit tests: the real use cases on in-memory adapters."""
