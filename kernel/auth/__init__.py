"""Authentication: the kernel's signing service, token verification, HTTP helpers."""

from eventonight.kernel.auth.principal import Principal
from eventonight.kernel.auth.tokens import TokenError, TokenService

__all__ = ["Principal", "TokenError", "TokenService"]
