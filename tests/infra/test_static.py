"""Static validation of infra/ (issue 12): no Docker engine or cluster here, so the files are
parsed, checked against schemas of the parts we use, and held to the tests' service settings."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.alerts.outbox_fixtures import AMQP

INFRA = Path(__file__).resolve().parents[2] / "infra"
REPO = INFRA.parent
IMAGE = "ghcr.io/geospace/geospace:latest"
TELEMETRY_OFF = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
TEST_PG = {
    "host": "127.0.0.1",
    "port": "5432",
    "user": "postgres",
}  # tests/alerts/outbox_fixtures.py

COMPOSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["services"],
    "properties": {
        "name": {"type": "string"},
        "services": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {"type": "string", "pattern": r"^[a-z0-9./-]+:[A-Za-z0-9._-]+$"},
                    "command": {"type": "array", "items": {"type": "string"}},
                    "environment": {"type": "object", "additionalProperties": {"type": "string"}},
                    "ports": {"type": "array", "items": {"type": "string"}},
                    "volumes": {"type": "array", "items": {"type": "string"}},
                    "depends_on": {"type": ["array", "object"]},
                    "healthcheck": {"type": "object"},
                    "deploy": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "volumes": {"type": "object"},
    },
}
CONTAINER = {
    "type": "object",
    "required": ["name", "image"],
    "properties": {"name": {"type": "string"}, "image": {"type": "string"}},
}
POD_SPEC = {
    "type": "object",
    "required": ["containers"],
    "properties": {"containers": {"type": "array", "minItems": 1, "items": CONTAINER}},
}
DASKCLUSTER_SCHEMA: dict[str, Any] = {  # the fields of the kubernetes.dask.org/v1 CRD we use
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kubernetes.dask.org/v1"},
        "kind": {"const": "DaskCluster"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["worker", "scheduler"],
            "properties": {
                "worker": {
                    "type": "object",
                    "required": ["replicas", "spec"],
                    "properties": {"replicas": {"type": "integer", "minimum": 1}, "spec": POD_SPEC},
                },
                "scheduler": {
                    "type": "object",
                    "required": ["spec", "service"],
                    "properties": {"spec": POD_SPEC, "service": {"type": "object"}},
                },
            },
        },
    },
}


def load(name: str) -> Any:
    return yaml.safe_load((INFRA / name).read_text(encoding="utf-8"))


def test_compose_parses_and_fits_its_schema() -> None:
    jsonschema.validate(load("compose.yaml"), COMPOSE_SCHEMA)


def test_compose_runs_every_service_the_issue_names() -> None:
    services = load("compose.yaml")["services"]
    images = {name: s["image"] for name, s in services.items()}
    assert images["postgres"].startswith("docker.io/library/postgres:")
    assert images["rabbitmq"].startswith("docker.io/library/rabbitmq:")
    assert images["prefect-server"].startswith("docker.io/prefecthq/prefect:")
    for name in ("dask-scheduler", "dask-worker", "prefect-worker"):
        assert images[name] == IMAGE
    # the Prefect server image is the pinned Prefect of the project and of prefect.yaml
    import prefect

    assert images["prefect-server"].split(":")[1].startswith(prefect.__version__)
    assert load("prefect.yaml")["prefect-version"] == prefect.__version__


def test_compose_uses_the_tests_service_settings() -> None:
    services = load("compose.yaml")["services"]
    pg = services["postgres"]
    assert pg["environment"]["POSTGRES_USER"] == TEST_PG["user"]
    assert f"{TEST_PG['host']}:{TEST_PG['port']}:5432" in pg["ports"]
    rabbit = services["rabbitmq"]
    user, password = AMQP.split("//")[1].split("@")[0].split(":")
    assert (
        rabbit["environment"]["RABBITMQ_DEFAULT_USER"],
        rabbit["environment"]["RABBITMQ_DEFAULT_PASS"],
    ) == (user, password)
    assert "127.0.0.1:5672:5672" in rabbit["ports"]
    env = services["prefect-worker"]["environment"]
    assert env["GEOSPACE_AMQP_URL"] == AMQP.replace("127.0.0.1", "rabbitmq")
    assert f"user={TEST_PG['user']}" in env["GEOSPACE_OUTBOX_DSN"]
    db_url = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert db_url.startswith(f"postgresql+asyncpg://{TEST_PG['user']}@postgres:5432/")


def test_compose_publishes_only_on_loopback_and_keeps_telemetry_off() -> None:
    services = load("compose.yaml")["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond 127.0.0.1"
        if name.startswith("prefect") or service["image"] == IMAGE:
            env = service.get("environment", {})
            assert {k: env.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF, name
    scheduler = services["dask-scheduler"]["command"]
    assert scheduler[scheduler.index("--dashboard-address") + 1].startswith("127.0.0.1:")
    worker = services["dask-worker"]["command"]
    assert worker[2] == services["prefect-worker"]["environment"]["DASK_SCHEDULER_ADDRESS"]


def test_daskcluster_fits_the_operator_schema_and_uses_the_image() -> None:
    doc = load("k8s/daskcluster.yaml")
    jsonschema.validate(doc, DASKCLUSTER_SCHEMA)
    spec = doc["spec"]
    images = {c["image"] for part in ("worker", "scheduler") for c in part_containers(spec, part)}
    assert images == {IMAGE}
    assert spec["scheduler"]["service"]["type"] == "ClusterIP"  # dashboard never public
    address = f"tcp://{doc['metadata']['name']}-scheduler.{doc['metadata']['namespace']}.svc:8786"
    values = load("k8s/prefect-worker-values.yaml")
    env = {e["name"]: e["value"] for e in values["worker"]["extraEnvVars"]}
    assert env["DASK_SCHEDULER_ADDRESS"] == address
    assert {k: env[k] for k in TELEMETRY_OFF} == TELEMETRY_OFF
    image = values["worker"]["image"]
    assert f"{image['repository']}:{image['prefectTag']}" == IMAGE


def part_containers(spec: dict[str, Any], part: str) -> list[dict[str, Any]]:
    return spec[part]["spec"]["containers"]  # type: ignore[no-any-return]


def test_containerfile_copies_what_exists_and_starts_the_declared_pool() -> None:
    text = (INFRA / "Containerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11", text, re.M)
    for source in re.findall(r"^COPY (\S+)", text, re.M):
        assert (REPO / source).exists(), f"Containerfile copies {source}, absent from the repo"
    for key, value in TELEMETRY_OFF.items():
        assert f"{key}={value}" in text
    pool = load("prefect.yaml")["definitions"]["work_pools"]["process"]["name"]
    assert f'"--pool", "{pool}"' in text
    assert pool in load("compose.yaml")["services"]["prefect-worker"]["command"]


@pytest.mark.parametrize("deployment", load("prefect.yaml")["deployments"], ids=lambda d: d["name"])
def test_every_entrypoint_is_a_flow_taking_the_declared_parameters(
    deployment: dict[str, Any],
) -> None:
    from prefect import Flow

    path, name = deployment["entrypoint"].split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    assert isinstance(flow, Flow)
    assert set(deployment["parameters"]) <= set(flow.parameters.properties)
    for spec in deployment.get("schedules", []):
        assert ("cron" in spec and spec["timezone"] == "Europe/Vienna") or "interval" in spec
