"""The VertexPusher's calls into the Vertex AI SDK, push after push.

MOCK AT THE API BOUNDARY: Vertex AI cannot be reached from here. `FakeVertex` stands in
for the `google.cloud.aiplatform` module only, keeps the registry and the endpoint's
deployments as Vertex AI would, and every call's keywords are checked against the real
SDK's signatures.
"""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import itertools
from typing import Any

import pytest
from google.cloud import aiplatform as real

from components.vertex_pusher import push_config, push_to_endpoint

CONFIG = push_config(
    project="my-gcp-project",
    region="us-central1",
    endpoint_name="census",
    serving_image="us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest",
)


def _check(function: Any, kwargs: dict[str, Any]) -> None:
    accepted = set(inspect.signature(function).parameters) - {"self", "cls"}
    assert set(kwargs) <= accepted, (function.__qualname__, set(kwargs) - accepted)


@dataclasses.dataclass
class Deployed:
    id: str
    display_name: str
    model: str
    create_time: datetime.datetime


class FakeVertex:
    """The registry (models and their versions) and endpoints, as the SDK shows them."""

    def __init__(self) -> None:
        fake = self
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.endpoints: list[Any] = []
        self.models: list[Any] = []
        clock = itertools.count(1)

        class Endpoint:
            def __init__(self, display_name: str) -> None:
                self.display_name = display_name
                self.resource_name = f"projects/1/locations/us-central1/endpoints/{display_name}"
                self.deployed: list[Deployed] = []

            @staticmethod
            def list(**kwargs: Any) -> list[Endpoint]:
                _check(real.Endpoint.list, kwargs)
                fake.calls.append(("Endpoint.list", kwargs))
                return [e for e in fake.endpoints if f'"{e.display_name}"' in kwargs["filter"]]

            @staticmethod
            def create(**kwargs: Any) -> Endpoint:
                _check(real.Endpoint.create, kwargs)
                fake.calls.append(("Endpoint.create", kwargs))
                endpoint = Endpoint(kwargs["display_name"])
                fake.endpoints.append(endpoint)
                return endpoint

            def list_models(self) -> list[Deployed]:
                return list(self.deployed)

            def undeploy(self, **kwargs: Any) -> None:
                _check(real.Endpoint.undeploy, kwargs)
                fake.calls.append(("Endpoint.undeploy", kwargs))
                self.deployed = [d for d in self.deployed if d.id != kwargs["deployed_model_id"]]

        class Model:
            def __init__(self, display_name: str, version_id: int, model_id: str) -> None:
                self.display_name = display_name
                self.version_id = version_id
                self.resource_name = f"projects/1/locations/us-central1/models/{model_id}"
                self.versioned_resource_name = f"{self.resource_name}@{version_id}"

            @staticmethod
            def list(**kwargs: Any) -> list[Model]:
                _check(real.Model.list, kwargs)
                fake.calls.append(("Model.list", kwargs))
                return [m for m in fake.models
                        if f'"{m.display_name}"' in kwargs["filter"] and m.version_id == 1]  # fmt: skip

            @staticmethod
            def upload(**kwargs: Any) -> Model:
                _check(real.Model.upload, kwargs)
                fake.calls.append(("Model.upload", kwargs))
                parent = kwargs.get("parent_model")
                versions = [m for m in fake.models if m.resource_name == parent]
                model_id = parent.rsplit("/", 1)[1] if parent else str(len(fake.models) + 100)
                model = Model(kwargs["display_name"], len(versions) + 1, model_id)
                fake.models.append(model)
                return model

            def deploy(self, **kwargs: Any) -> None:
                _check(real.Model.deploy, kwargs)
                fake.calls.append(("Model.deploy", kwargs))
                endpoint = kwargs["endpoint"]
                endpoint.deployed.append(
                    Deployed(f"d{next(clock)}", kwargs["deployed_model_display_name"],
                             self.versioned_resource_name,
                             datetime.datetime(2026, 12, 3, tzinfo=datetime.timezone.utc)
                             + datetime.timedelta(seconds=next(clock)))
                )  # fmt: skip

        self.Endpoint = Endpoint
        self.Model = Model

    def init(self, **kwargs: Any) -> None:
        _check(real.init, kwargs)
        self.calls.append(("init", kwargs))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for call, kwargs in self.calls if call == name]


def test_first_push_creates_the_endpoint_and_the_model():
    fake = FakeVertex()
    model = push_to_endpoint(fake, CONFIG, "gs://b/pushed/1")
    assert fake.named("init") == [{"project": "my-gcp-project", "location": "us-central1"}]
    assert fake.named("Endpoint.create") == [{"display_name": "census"}]
    (upload,) = fake.named("Model.upload")
    assert upload == {
        "display_name": "census",
        "artifact_uri": "gs://b/pushed/1",
        "serving_container_image_uri": CONFIG["serving_image"],
        "parent_model": None,
        "is_default_version": True,
    }
    (deploy,) = fake.named("Model.deploy")
    assert deploy["traffic_percentage"] == 100 and deploy["sync"] is True
    assert (deploy["machine_type"], deploy["min_replica_count"], deploy["max_replica_count"]) == (
        "n1-standard-2", 1, 1,
    )  # fmt: skip
    assert model.versioned_resource_name.endswith("@1")
    assert fake.named("Endpoint.undeploy") == []


def test_later_pushes_are_versions_of_one_model_and_undeploy_the_old_ones():
    fake = FakeVertex()
    for n in range(1, 4):
        push_to_endpoint(fake, CONFIG, f"gs://b/pushed/{n}")
    assert len(fake.named("Endpoint.create")) == 1
    parents = [u["parent_model"] for u in fake.named("Model.upload")]
    assert parents[0] is None and parents[1] == parents[2] == fake.models[0].resource_name
    assert [m.version_id for m in fake.models] == [1, 2, 3]
    # One deployment left: the newest version, with all the traffic; two undeployed.
    (endpoint,) = fake.endpoints
    assert [d.model for d in endpoint.deployed] == [fake.models[2].versioned_resource_name]
    assert len(fake.named("Endpoint.undeploy")) == 2


def test_keep_deployed_leaves_the_previous_version_for_a_rollback():
    fake = FakeVertex()
    config = push_config(**{**CONFIG, "keep_deployed": 2})
    for n in range(1, 4):
        push_to_endpoint(fake, config, f"gs://b/pushed/{n}")
    (endpoint,) = fake.endpoints
    assert sorted(d.model for d in endpoint.deployed) == sorted(
        m.versioned_resource_name for m in fake.models[1:]
    )


def test_keep_deployed_must_be_positive():
    with pytest.raises(ValueError, match="keep_deployed must be 1 or more"):
        push_config(**{**CONFIG, "keep_deployed": 0})


def test_the_fake_reads_the_attributes_the_real_sdk_has():
    from google.cloud.aiplatform_v1.types import DeployedModel

    assert all(hasattr(real.Model, a) for a in ("versioned_resource_name", "version_id"))
    assert {"id", "display_name", "model", "create_time"} <= set(DeployedModel.meta.fields)
    assert all(hasattr(real.Endpoint, a) for a in ("list_models", "undeploy"))
