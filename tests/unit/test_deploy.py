"""Deployment files stay valid and complete: docker-compose.yml and deploy/k8s.

Every Kubernetes object is validated offline against the schemas vendored in
tests/schemas/k8s (Kubernetes 1.30, KEDA's CRDs): see tests/schemas/README.md.
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from gateway.routes import routes_of
from gateway.service import GatewayService
from servicekit import config, registry

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = ROOT / "tests" / "schemas" / "k8s"
PROCESSES = registry.names()
SERVICES = registry.databases()
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = f"jalon:{VERSION}"
UID = 10001  # the image's user (deploy/Dockerfile)
# (apiVersion, kind) -> its vendored schema; a kind without one fails the validation test.
SCHEMA_FILES = {
    ("v1", "Namespace"): "namespace-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaim-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudget-policy-v1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication-v1alpha1.json",
}


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
    probe = "/health/ready" if name == "gateway" else "servicekit.probe"
    assert probe in " ".join(service["healthcheck"]["test"])
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


def deployments() -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_objects()
            if doc["kind"] == "Deployment"}


def test_kubernetes_has_a_deployment_per_process():
    assert set(deployments()) == set(PROCESSES)
    for name, doc in deployments().items():
        [container] = doc["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "servicekit.run", name]


def test_every_kubernetes_process_is_probed_for_liveness_and_readiness():
    for doc in deployments().values():
        name = doc["metadata"]["name"]
        [container] = doc["spec"]["template"]["spec"]["containers"]
        liveness = container["livenessProbe"]
        if name != "gateway":
            assert liveness["exec"]["command"] == ["python", "-m", "servicekit.probe", name]
        # Kubernetes must not kill a process before its own deadline (60 s) could.
        assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 60
        assert "readinessProbe" in container


def test_the_gateway_is_live_when_it_answers_and_ready_when_it_reaches_the_broker():
    """Not /health, which asks every service: one sick service would take every gateway pod
    out of the Service, login included."""
    [container] = deployments()["gateway"]["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    gets = {spec.path for spec in routes_of(GatewayService) if spec.method == "GET"}
    assert {"/health/live", "/health/ready"} <= gets


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
    assert spec["minReplicaCount"] >= 2  # as its Deployment, under its disruption budget
    queues = re.compile(trigger["metadata"]["queueName"])
    assert queues.match(f"evt-dossiers-dossier_created.v1--{name}.on_dossier_created")
    # Messages waiting out a retry delay cannot be taken sooner by more replicas.
    assert not queues.match(f"evt-dossiers-dossier_created.v1--{name}.on_dossier_created--retry-5s")


def strict(schema):
    """KEDA's CRD schemas leave objects open (the API server prunes unknown fields): close
    them here, so that a misspelt field fails instead of being silently dropped."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def schema_for(doc: dict) -> dict:
    schema = json.loads((SCHEMAS / SCHEMA_FILES[(doc["apiVersion"], doc["kind"])]).read_text())
    if doc["apiVersion"].startswith("keda.sh/"):
        schema = strict(schema)
        schema["properties"]["metadata"] = SCHEMA_OF_METADATA
    return schema


# What KEDA's objects may say in metadata (their CRDs say only "object").
SCHEMA_OF_METADATA = {"type": "object", "required": ["name"], "additionalProperties": False,
                      "properties": {"name": {"type": "string"},
                                     "namespace": {"type": "string"},
                                     "labels": {"type": "object"},
                                     "annotations": {"type": "object"}}}


@pytest.mark.parametrize("filename, doc", k8s_objects(),
                         ids=lambda value: value if isinstance(value, str) else
                         f"{value['kind']}/{value['metadata']['name']}")
def test_every_kubernetes_object_follows_its_schema(filename, doc):
    assert (doc["apiVersion"], doc["kind"]) in SCHEMA_FILES, f"{filename}: no schema vendored"
    errors = sorted(jsonschema.Draft7Validator(schema_for(doc)).iter_errors(doc),
                    key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{filename} {list(e.absolute_path)}: {e.message}"
                                 for e in errors[:10])


def test_the_strict_schemas_catch_a_misspelt_field():
    deployment = copy.deepcopy(deployments()["certification"])
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    scaled = copy.deepcopy(next(doc for _, doc in k8s_objects() if doc["kind"] == "ScaledObject"))
    scaled["spec"]["pollingIntervall"] = 10
    for doc in (deployment, scaled):
        assert not jsonschema.Draft7Validator(schema_for(doc)).is_valid(doc)


def containers_of(doc: dict) -> list[dict]:
    pod = doc["spec"]["template"]["spec"]
    return pod.get("initContainers", []) + pod["containers"]


@pytest.mark.parametrize("name", PROCESSES)
def test_every_pod_runs_as_an_unprivileged_user_on_a_read_only_filesystem(name):
    pod = deployments()[name]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": UID,
                                      "runAsGroup": UID, "fsGroup": UID,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for container in containers_of(deployments()[name]):
        assert container["securityContext"] == {"allowPrivilegeEscalation": False,
                                                 "readOnlyRootFilesystem": True,
                                                 "capabilities": {"drop": ["ALL"]}}
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        # Where a process writes: /tmp, its data dir (the liveness heartbeat), the files.
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert "emptyDir" in volumes[mounts["/var/lib/jalon"]]
    [main] = pod["containers"]
    files = {mount["mountPath"]: mount["name"] for mount in main["volumeMounts"]}
    assert "persistentVolumeClaim" in volumes[files["/var/lib/jalon/files"]]


def test_the_image_creates_the_user_the_pods_run_as():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert f"useradd --system --uid {UID} --gid {UID}" in dockerfile
    assert f"\nUSER {UID}:{UID}\n" in dockerfile


@pytest.mark.parametrize("name", PROCESSES)
def test_every_container_has_resource_requests_and_limits(name):
    for container in containers_of(deployments()[name]):
        resources = container["resources"]
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, (container["name"], bound)


def test_every_image_is_pinned_to_the_projects_version():
    images = [container["image"] for doc in deployments().values()
              for container in containers_of(doc)]
    assert set(images) == {IMAGE}
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert [image["newTag"] for image in kustomization["images"]] == [VERSION]


def test_every_compose_image_has_a_version_tag(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        tag = image.rpartition(":")[2] if ":" in image else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), (name, image)
    assert {compose["services"][name]["image"] for name in PROCESSES} == {IMAGE}


def test_what_runs_several_replicas_has_a_disruption_budget():
    budgets = {doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]: doc
               for _, doc in k8s_objects() if doc["kind"] == "PodDisruptionBudget"}
    several = {name for name, doc in deployments().items() if doc["spec"]["replicas"] > 1}
    scaled = {doc["spec"]["scaleTargetRef"]["name"] for _, doc in k8s_objects()
              if doc["kind"] == "ScaledObject"}
    assert several | scaled <= set(budgets)
    assert all(budgets[name]["spec"]["maxUnavailable"] == 1 for name in several | scaled)


def k8s_settings() -> dict[str, str]:
    """What every pod reads from jalon-config and jalon-secrets."""
    settings = {}
    for _, doc in k8s_objects():
        if doc["kind"] in ("ConfigMap", "Secret") and doc["metadata"]["name"].startswith("jalon-"):
            settings.update(doc.get("data") or doc.get("stringData"))
    return settings


def compose_settings(compose, name: str) -> dict[str, str]:
    """A compose service's environment with each ${VARIABLE:-default} at its default."""
    return {key: re.sub(r"\$\{[A-Z_]+:-(.*)\}", r"\1", str(value))
            for key, value in compose["services"][name]["environment"].items()}


def problems_with(monkeypatch, env: dict[str, str], name: str) -> list[str]:
    for variable in [v for v in os.environ if v.startswith("JALON_")]:
        monkeypatch.delenv(variable)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    database = name if name in SERVICES else None
    return config.production_problems(config.load(), database)


# What a deployment alone knows: shipped as placeholders that production mode refuses.
OPERATOR_VALUES = {
    "JALON_PUBLIC_URL": "https://jalon.transitionspro-idf.fr",
    "JALON_MAIL_FROM": "Jalon <ne-pas-repondre@transitionspro-idf.fr>",
    "JALON_SMTP_HOST": "smtp.transitionspro-idf.fr",
    "JALON_CAPTCHA_SITE_KEY": "10000000-ffff-ffff-ffff-000000000001",
    "JALON_CAPTCHA_SECRET": "0x0000000000000000000000000000000000000000",
}


def shipped_placeholders(settings: dict[str, str]) -> set[str]:
    return {name for name in OPERATOR_VALUES if name in settings}


@pytest.mark.parametrize("name", PROCESSES)
def test_kubernetes_sets_every_setting_production_needs(monkeypatch, name):
    settings = k8s_settings()
    assert settings["JALON_ENV"] == "production"
    assert problems_with(monkeypatch, {**settings, **OPERATOR_VALUES}, name) == []


@pytest.mark.parametrize("name", PROCESSES)
def test_compose_sets_every_setting_production_needs(monkeypatch, compose, name):
    settings = compose_settings(compose, name)
    assert settings["JALON_ENV"] == "production"
    assert problems_with(monkeypatch, {**settings, **OPERATOR_VALUES}, name) == []


def test_a_deployment_left_with_its_placeholders_refuses_to_start(monkeypatch, compose):
    """Forgotten, JALON_PUBLIC_URL would send every email's links to example.org: each
    placeholder is named and the process stops (servicekit.run)."""
    k8s = k8s_settings()
    assert shipped_placeholders(k8s) == set(OPERATOR_VALUES)
    assert {p.split(":")[0] for p in problems_with(monkeypatch, k8s, "gateway")} == set(
        OPERATOR_VALUES)
    # Compose's SMTP default is its Mailpit: every other placeholder is refused.
    shipped = compose_settings(compose, "gateway")
    assert {p.split(":")[0] for p in problems_with(monkeypatch, shipped, "gateway")} == set(
        OPERATOR_VALUES) - {"JALON_SMTP_HOST"}


@pytest.mark.parametrize("variable", ["JALON_PUBLIC_URL", "JALON_MAIL_FROM"])
def test_the_deployments_placeholders_are_obvious(compose, variable):
    """example.org: a reader sees at once that they are to be replaced."""
    for value in (k8s_settings()[variable], compose_settings(compose, "gateway")[variable]):
        assert "example.org" in value
