"""A relay or a worker in a process of its own, for the fault-injection tests to SIGKILL.

    python node.py relay|worker <settings JSON> [seconds each effect takes]

The worker runs one consumer, ``faults.apply``, which writes one effect document per
``fault.*`` event it handles (a fresh id each time, so a double effect shows as two).
Prints ``ready`` once its role runs.
"""

import asyncio
import sys
from importlib.metadata import entry_points
from uuid import uuid4

from eventonight.hooks import Consumer, hookimpl
from eventonight.kernel.kernel import Kernel
from eventonight.kernel.runtime import Runtime
from eventonight.settings import Settings

EFFECTS = "fault_effects"


class Effects:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    @hookimpl
    def eventonight_consumers(self):
        async def apply(event, uow):
            if self.delay:
                await asyncio.sleep(self.delay)  # widen the batch so a kill lands inside it
            await uow.collection(EFFECTS).insert_one({"_id": uuid4().hex, "seq": event.payload["seq"]})

        return [Consumer("apply", ("fault.#",), apply)]


async def main(role: str, settings_json: str, delay: float) -> None:
    settings = Settings.model_validate_json(settings_json)
    # Only the test's consumer: the built-in plugins would start consumers and jobs of their own.
    installed = [e.name for e in entry_points(group="eventonight.plugins")]
    settings = settings.model_copy(update={"disabled_plugins": installed})
    kernel = Kernel(settings, extra_plugins=[("faults", Effects(delay))])
    runtime = Runtime(kernel, relay=role == "relay", consumers=role == "worker", scheduler=False)
    await runtime.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0))
