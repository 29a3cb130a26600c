"""Builds the interactions use cases on the kernel."""

from __future__ import annotations

from typing import Any

from eventonight_interactions.application.services import Interactions
from eventonight_interactions.infrastructure.store import Store


def build(kernel: Any) -> Interactions:
    async def transaction(work):
        return await kernel.transaction(lambda uow: work(Store(kernel.database.db, uow.session), uow))

    async def direct(work):
        return await work(Store(kernel.database.db, None), None)

    return Interactions(transaction, direct)
