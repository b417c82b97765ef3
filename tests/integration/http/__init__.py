"""Tests of the HTTP API, through the real HTTP stack on real PostgreSQL."""
