"""eventonight users plugin: accounts, profiles, authentication."""
