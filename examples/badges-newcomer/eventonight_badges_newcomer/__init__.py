"""Example: a plugin that implements the badges plugin's hook (entry point ``badges_newcomer``).

It loads, and does nothing, when the badges plugin is not installed:
``optionalhook=True`` tells the kernel the hook belongs to a plugin that may be absent.
"""

from eventonight.hooks import hookimpl

HOOK_API_VERSION = 1


@hookimpl(optionalhook=True)
def badges_for_event(event_type, payload):
    if event_type == "user.created":
        return [(payload["userId"], "newcomer")]
    return None
