"""TFX's Pusher with the atomic executor: TFX's component, spec and parameters unchanged."""

from __future__ import annotations

from tfx.components import Pusher
from tfx.dsl.components.base import executor_spec

from components.atomic_pusher.executor import Executor


class AtomicPusher(Pusher):
    """TFX's Pusher (same parameters, outputs and caching); a push is whole or absent, and
    a model already serving is not pushed again."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
