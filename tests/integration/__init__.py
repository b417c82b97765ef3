"""Integration tests: real PostgreSQL, real HTTP stack, real CLI."""
