"""eventonight media plugin: avatars and posters in an object store."""
