"""The rules that decide, one module per concept: passwords, access, throttle, sessions, listing."""
