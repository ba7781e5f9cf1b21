"""A Pusher executor whose filesystem push is all-or-nothing (write, then rename)."""

from components.atomic_pusher.executor import INCOMING_PREFIX, Executor

__all__ = ["INCOMING_PREFIX", "Executor"]
