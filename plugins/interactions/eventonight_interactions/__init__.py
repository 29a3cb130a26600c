"""eventonight interactions plugin: follows, likes, participations, reviews."""
