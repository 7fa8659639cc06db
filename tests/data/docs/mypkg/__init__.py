"""A tiny package for docs/import.md: models that live in code."""
