"""The domain: entities, value objects, errors and rules; synchronous and free of I/O."""
