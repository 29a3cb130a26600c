"""eventonight notification plugin: stored notifications, live over server-sent events."""
