"""VertexPusher executor: a new version of one registry model, deployed; old ones undeployed.

TFX's own Vertex AI Pusher uploads every blessed model as a new registry model named
`v<timestamp>` (tfx/extensions/google_cloud_ai_platform/pusher/executor.py:122), deploys
it with 100% of the traffic, and leaves every earlier model deployed: each keeps its replicas (`min_replicas` machines, billed by the hour) for good.
Here each push is a new version of one model (`model_name`), the previous deployments
beyond `keep_deployed` are undeployed once the new one serves, and the pushed artifact
records the version's resource name.
"""

from __future__ import annotations

import json
from typing import Any

from absl import logging
from tfx.components.pusher import executor as tfx_pusher
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils

# The custom_config keys, all required (`push_config` writes them).
CONFIG_KEYS = (
    "project", "region", "endpoint_name", "model_name", "serving_image", "machine_type",
    "min_replicas", "max_replicas", "keep_deployed",
)  # fmt: skip


def push_config(
    project: str,
    region: str,
    endpoint_name: str,
    serving_image: str,
    model_name: str | None = None,
    machine_type: str = "n1-standard-2",
    min_replicas: int = 1,
    max_replicas: int = 1,
    keep_deployed: int = 1,
) -> dict[str, Any]:
    """The component's `custom_config`.

    Args:
        project: GCP project.
        region: Vertex AI region of the endpoint and the model.
        endpoint_name: Endpoint display name; created on the first push.
        serving_image: Vertex AI prediction container, e.g. a `tf2-cpu` prebuilt image.
        model_name: Registry model display name (default: the endpoint's).
        machine_type: Serving machine type.
        min_replicas: Lowest replica count of a deployment.
        max_replicas: Highest replica count of a deployment.
        keep_deployed: Deployments left on the endpoint after a push, the new one
            included (1: only the new model serves and is billed).
    """
    if keep_deployed < 1:
        raise ValueError(f"keep_deployed must be 1 or more, got {keep_deployed}")
    return {
        "project": project,
        "region": region,
        "endpoint_name": endpoint_name,
        "model_name": model_name or endpoint_name,
        "serving_image": serving_image,
        "machine_type": machine_type,
        "min_replicas": min_replicas,
        "max_replicas": max_replicas,
        "keep_deployed": keep_deployed,
    }


def _one_named(resource: Any, name: str) -> Any | None:
    """The oldest resource (`aiplatform.Endpoint` or `.Model`) with this display name."""
    found = resource.list(filter=f'display_name="{name}"', order_by="create_time")
    return found[0] if found else None


def push_to_endpoint(aiplatform: Any, config: dict[str, Any], artifact_uri: str) -> Any:
    """Uploads `artifact_uri` as the model's new default version and serves it alone.

    Args:
        aiplatform: The `google.cloud.aiplatform` module (tests pass a fake).
        config: `push_config` output.
        artifact_uri: The SavedModel folder (gs://) Vertex AI serves from.

    Returns:
        The uploaded `aiplatform.Model` (its version).
    """
    aiplatform.init(project=config["project"], location=config["region"])
    endpoint = _one_named(aiplatform.Endpoint, config["endpoint_name"])
    if endpoint is None:
        endpoint = aiplatform.Endpoint.create(display_name=config["endpoint_name"])
    parent = _one_named(aiplatform.Model, config["model_name"])
    model = aiplatform.Model.upload(
        display_name=config["model_name"],
        artifact_uri=artifact_uri,
        serving_container_image_uri=config["serving_image"],
        parent_model=parent.resource_name if parent is not None else None,
        is_default_version=True,
    )
    model.deploy(
        endpoint=endpoint,
        deployed_model_display_name=f"{config['model_name']}-v{model.version_id}",
        traffic_percentage=100,
        machine_type=config["machine_type"],
        min_replica_count=config["min_replicas"],
        max_replica_count=config["max_replicas"],
        sync=True,
    )
    # The new deployment now has all the traffic: the older ones serve nothing but still
    # hold their replicas. Newest first, keep `keep_deployed` of them.
    deployed = sorted(endpoint.list_models(), key=lambda d: d.create_time, reverse=True)
    for old in deployed[config["keep_deployed"] :]:
        logging.info("VertexPusher: undeploying %s (%s)", old.display_name, old.id)
        endpoint.undeploy(deployed_model_id=old.id, sync=True)
    return model


def _aiplatform() -> Any:
    from google.cloud import aiplatform

    return aiplatform


class Executor(tfx_pusher.Executor):
    """Pushes a blessed model to a Vertex AI endpoint as a new model version."""

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        config = json.loads(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY])
        missing = [key for key in CONFIG_KEYS if key not in config]
        if missing:
            raise ValueError(
                f"VertexPusher custom_config lacks {missing}: build it with push_config"
            )
        # The pushed copy (gs:// on Vertex AI) is what the model version serves from.
        io_utils.copy_dir(self.GetModelPath(input_dict), model_push.uri)
        model = push_to_endpoint(_aiplatform(), config, model_push.uri)
        self._MarkPushed(
            model_push,
            pushed_destination=model.versioned_resource_name,
            pushed_version=str(model.version_id),
        )
