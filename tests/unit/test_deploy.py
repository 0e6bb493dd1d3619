"""Deployment files stay valid and complete: docker-compose.yml and deploy/k8s."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from servicekit import registry

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
PROCESSES = registry.names()
SERVICES = registry.databases()


def k8s_objects() -> list[tuple[str, dict]]:
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":  # kustomize's own file, not a cluster object
            continue
        objects += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_follows_the_compose_spec():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec",
                             str(ROOT / "docker-compose.yml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", PROCESSES)
def test_compose_runs_every_process_from_the_image(compose, name):
    service = compose["services"][name]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert service["command"][:4] == ["python", "-m", "servicekit.run", name]
    assert "healthcheck" in service
    assert all(dep.get("condition") in ("service_healthy", "service_started")
               for dep in service["depends_on"].values())
    assert service["restart"] == "unless-stopped"  # a process that exits is started again
    assert "servicekit.probe" in " ".join(service["healthcheck"]["test"])
    env = service["environment"]
    assert env["JALON_SERVICE"] == name  # what the probe names
    assert env["JALON_AMQP_URI"].startswith("amqp://")
    assert env["JALON_FILES_DIR"] in [v.split(":")[1] for v in service["volumes"]]


def test_compose_services_migrate_and_wait_for_their_backing_services(compose):
    for name in SERVICES:
        service = compose["services"][name]
        assert "--migrate" in service["command"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["JALON_DATABASE_URL_TEMPLATE"].endswith("jalon_{service}")


def test_postgres_init_creates_one_database_per_service():
    sql = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for name in SERVICES:
        assert f"CREATE DATABASE jalon_{name};" in sql


def test_every_kubernetes_object_is_well_formed():
    objects = k8s_objects()
    assert objects
    for filename, doc in objects:
        assert doc.get("apiVersion") and doc.get("kind"), filename
        assert doc.get("metadata", {}).get("name"), f"{filename}: {doc.get('kind')} has no name"


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_kubernetes_has_a_deployment_per_process():
    deployments = {doc["metadata"]["name"]: doc for _, doc in k8s_objects()
                   if doc["kind"] == "Deployment"}
    assert set(deployments) == set(PROCESSES)
    for name, doc in deployments.items():
        [container] = doc["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "servicekit.run", name]


def test_every_kubernetes_process_is_probed_for_liveness_and_readiness():
    for _, doc in k8s_objects():
        if doc["kind"] != "Deployment":
            continue
        name = doc["metadata"]["name"]
        [container] = doc["spec"]["template"]["spec"]["containers"]
        liveness = container["livenessProbe"]
        assert liveness["exec"]["command"] == ["python", "-m", "servicekit.probe", name]
        # Kubernetes must not kill a process before its own deadline (60 s) could.
        assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 60
        assert "readinessProbe" in container


@pytest.mark.parametrize("name", ["certification", "documents"])
def test_keda_scales_on_rabbitmq_queue_length(name):
    scaled = {doc["metadata"]["name"]: doc for _, doc in k8s_objects()
              if doc["kind"] == "ScaledObject"}
    spec = scaled[name]["spec"]
    assert spec["scaleTargetRef"]["name"] == name
    [trigger] = spec["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert f"rpc-{name}" in trigger["metadata"]["queueName"]
