"""Builds the interactions use cases on the kernel."""

from __future__ import annotations

from typing import Any

from eventonight.hooks.kept import KeptPages
from eventonight_interactions.application.services import Interactions
from eventonight_interactions.infrastructure.settings import InteractionsSettings
from eventonight_interactions.infrastructure.store import Store


def build(kernel: Any, name: str) -> Interactions:
    settings = kernel.plugin_settings.get(name) or InteractionsSettings()
    return Interactions(*kernel.runners(Store), KeptPages(settings.pages_kept))
