"""A hub that hands events from worker threads to the server-sent-event streams of many clients.

Every event gets a sequence number (the SSE `id`); the last `backlog` events are kept so that a client
that reconnects with `Last-Event-ID` gets what it missed. A client too slow to keep up loses its oldest
undelivered events (counted), never blocks the threads that publish.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any

_CLOSED: dict[str, Any] = {"type": "closed"}


class Subscription:
    """One client's queue of events, filled from any thread, read on the server's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.dropped = 0

    def push(self, event: dict[str, Any]) -> None:
        try:
            self.loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the loop has closed: the client is gone
            pass

    def _put(self, event: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventHub:
    def __init__(self, backlog: int = 200, per_client: int = 1000) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._recent: deque[dict[str, Any]] = deque(maxlen=backlog)
        self._sequence = 0
        self._per_client = per_client
        self.closed = False

    def publish(self, event: dict[str, Any]) -> dict[str, Any]:
        """Send `event` (a JSON-able dict with a "type") to every subscriber; returns it with its "id"."""
        with self._lock:
            self._sequence += 1
            event = {"id": self._sequence, **event}
            self._recent.append(event)
            targets = list(self._subscriptions)
        for subscription in targets:
            subscription.push(event)
        return event

    def subscribe(self, loop: asyncio.AbstractEventLoop, after: int | None = None) -> Subscription:
        """A new subscription; with `after`, the kept events with a later id are delivered first."""
        subscription = Subscription(loop, self._per_client)
        with self._lock:
            if after is not None:
                for event in self._recent:
                    if event["id"] > after:
                        subscription._put(event)
            if self.closed:
                subscription._put(_CLOSED)
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def close(self) -> None:
        """End every stream (at shutdown)."""
        with self._lock:
            self.closed = True
            targets = list(self._subscriptions)
        for subscription in targets:
            subscription.push(_CLOSED)


def is_closing(event: dict[str, Any]) -> bool:
    return event is _CLOSED
