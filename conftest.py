pytest_plugins = ["eventonight.hooks.testing"]
