"""HTTP layer of the kernel: app factory, request handling and the helpers plugins get through ``eventonight.hooks.http``."""
