"""Who is calling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("member", "organization")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, from a verified access token."""

    user_id: str
    role: str
    issuer: str
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_organization(self) -> bool:
        return self.role == "organization"
