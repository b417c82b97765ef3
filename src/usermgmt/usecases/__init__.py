"""The use cases: async, one module per feature area, built on ports and domain rules only."""
