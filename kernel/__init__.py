"""The eventonight kernel: auth, Mongo sessions, outbox, message bus and plugin machinery."""

from eventonight.kernel.db import UnitOfWork
from eventonight.kernel.errors import ApiError, ConcurrencyConflict, PluginLoadError
from eventonight.kernel.kernel import Kernel

__all__ = ["ApiError", "ConcurrencyConflict", "Kernel", "PluginLoadError", "UnitOfWork"]
