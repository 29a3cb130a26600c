"""pluggy markers and the hook API version."""

import pluggy

PROJECT = "eventonight"

#: The version of the hook API this kernel provides. A plugin may declare the
#: version it targets with a module/class attribute ``HOOK_API_VERSION``; a
#: mismatch is reported as a load error naming the plugin instead of failing
#: later with a TypeError.
HOOK_API_VERSION = 1

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
