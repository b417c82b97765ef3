"""usermgmt's tests: unit (in memory), integration (PostgreSQL), shared contracts."""
