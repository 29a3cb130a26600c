"""``eventonight.hooks.copies.apply_membership``: a batch of changes to a set-like local copy."""

import asyncio

from eventonight.hooks.copies import apply_membership

COPY = "testing_members"


def _doc(key: str) -> dict:
    return {"_id": key, "member": key.upper()}


async def _members(kernel) -> list[dict]:
    return [d async for d in kernel.read.collection(COPY).find({}).sort("_id", 1)]


async def test_each_id_ends_as_its_last_change_says(platform):
    p = await platform(consumers=False)
    kernel = p.kernel

    async def apply(changes):
        await kernel.transaction(lambda uow: apply_membership(uow.collection(COPY), changes))

    await apply(
        [
            (_doc("a"), True),
            (_doc("b"), True),
            (_doc("a"), False),  # added and removed in one batch: absent
            (_doc("c"), False),  # removed before it was there: nothing happens
            (_doc("c"), True),
            (_doc("d"), True),
            (_doc("d"), False),
            (_doc("d"), True),  # back again
            (_doc("e"), True),
            (_doc("e"), True),  # twice: one document
        ]
    )
    assert await _members(kernel) == [_doc("b"), _doc("c"), _doc("d"), _doc("e")]

    # Already there: kept as it is (not replaced), removed, or left absent.
    await apply([({"_id": "b", "member": "other"}, True), (_doc("c"), False), (_doc("a"), False), (_doc("f"), True)])
    assert await _members(kernel) == [_doc("b"), _doc("d"), _doc("e"), _doc("f")]

    await apply([])
    assert len(await _members(kernel)) == 4


async def test_batches_adding_the_same_id_at_once_keep_one_document(platform):
    p = await platform(consumers=False)
    kernel = p.kernel

    async def add(other: str) -> None:
        changes = [(_doc("shared"), True), (_doc(other), True)]
        await kernel.transaction(lambda uow: apply_membership(uow.collection(COPY), changes))

    await asyncio.gather(*(add(f"own{i}") for i in range(4)))
    assert await _members(kernel) == [_doc(f"own{i}") for i in range(4)] + [_doc("shared")]
