"""eventonight ticketing plugin: ticket types, orders that cannot oversell, tickets."""
