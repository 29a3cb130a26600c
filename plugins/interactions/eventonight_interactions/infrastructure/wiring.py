"""Builds the interactions use cases on the kernel."""

from __future__ import annotations

from typing import Any

from eventonight_interactions.application.services import Interactions
from eventonight_interactions.infrastructure.store import Store


def build(kernel: Any) -> Interactions:
    return Interactions(*kernel.runners(Store))
