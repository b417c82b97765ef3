"""Adapters: each port implemented on one technology."""
