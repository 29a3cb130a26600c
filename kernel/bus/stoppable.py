"""kombu's consumer loop, made to stop when asked while the broker is unreachable.

kombu's ``ConsumerMixin`` reconnects forever without looking at ``should_stop``: a
thread asked to stop during an outage (or pointed at a broker that never came up)
goes on retrying every 30 seconds for the life of the process, and whoever joins it
waits in vain. Here the retry looks at ``should_stop`` once a second and gives up.
"""

from __future__ import annotations

from contextlib import contextmanager

from kombu.mixins import ConsumerMixin


class _StopRetrying(Exception):
    """Raised inside kombu's retry loop to leave it once the consumer is asked to stop."""


class StoppableConsumer(ConsumerMixin):
    @contextmanager
    def establish_connection(self):
        with self.create_connection() as connection:
            # kombu calls ``callback`` before each attempt and every second of the wait between.
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries, callback=self._check_stop)
            yield connection

    def _check_stop(self) -> None:
        if self.should_stop:
            raise _StopRetrying

    def run(self, _tokens=1, **kwargs):
        try:
            return super().run(_tokens, **kwargs)
        except _StopRetrying:
            return None
