"""eventonight chat plugin: member <-> organization conversations."""
