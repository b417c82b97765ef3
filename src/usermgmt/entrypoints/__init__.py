"""The faces of usermgmt: the HTTP API and the admin CLI, both over the public API."""
