pytest_plugins = ["eventonight.kernel.testing"]
