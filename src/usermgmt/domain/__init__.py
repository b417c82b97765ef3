"""The domain: entities, value objects, policies and use cases, free of I/O."""
