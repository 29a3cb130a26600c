"""Example third-party plugin: badges awarded from domain events (see README.md)."""
