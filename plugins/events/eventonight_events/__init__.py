"""eventonight events plugin: the event catalogue."""
