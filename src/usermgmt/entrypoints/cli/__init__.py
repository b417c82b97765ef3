"""The ``usermgmt`` command line."""
