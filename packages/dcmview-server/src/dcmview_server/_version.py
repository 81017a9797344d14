"""The package version (kept apart so light imports do not pull in Sanic)."""

__version__ = "0.1.0"
