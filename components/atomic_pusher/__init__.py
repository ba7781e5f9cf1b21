"""A Pusher whose filesystem push is all-or-nothing and never repeats the serving model.

Contract: `AtomicPusher(model, model_blessing, push_destination)` as TFX's Pusher. A model
byte-for-byte equal to the latest version under the destination is not copied again: the
`PushedModel` is marked pushed to that version with `ALREADY_SERVING_KEY` = 1.
"""

from components.atomic_pusher.component import AtomicPusher
from components.atomic_pusher.executor import ALREADY_SERVING_KEY, INCOMING_PREFIX, Executor

__all__ = ["ALREADY_SERVING_KEY", "INCOMING_PREFIX", "AtomicPusher", "Executor"]
