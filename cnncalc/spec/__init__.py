"""Parse: architecture file (YAML) -> frozen, located values -> a flat layer graph."""
