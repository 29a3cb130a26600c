"""Kernel test fixtures: the private RabbitMQ node lives in eventonight.hooks.testing (``private_rabbit``)."""
