"""VertexPusher component: TFX's Vertex AI Pusher spec, with this package's executor."""

from __future__ import annotations

from tfx.dsl.components.base import executor_spec
from tfx.extensions.google_cloud_ai_platform.pusher.component import Pusher

from components.vertex_pusher import executor


class VertexPusher(Pusher):
    """TFX's Vertex AI Pusher (same inputs, outputs and `custom_config` parameter), pushing
    versions of one model and undeploying the old ones (`executor.push_to_endpoint`)."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
