"""VertexPusher: blessed models become versions of one Vertex AI model, on one endpoint.

Contract: `VertexPusher(model, model_blessing, custom_config=push_config(...))` uploads a
blessed model as a new version of the registry model `model_name`, deploys it to the
endpoint with all the traffic, and undeploys all but the newest `keep_deployed`
deployments (each deployed model keeps its own billed replicas).
"""

from components.vertex_pusher.component import VertexPusher
from components.vertex_pusher.executor import Executor, push_config, push_to_endpoint

__all__ = ["Executor", "VertexPusher", "push_config", "push_to_endpoint"]
