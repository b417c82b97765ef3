"""The admin CLI through its real entry points, on real PostgreSQL."""
