"""The HTTP API on Litestar."""

from usermgmt.entrypoints.http.app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
