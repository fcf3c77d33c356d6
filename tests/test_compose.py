"""docker compose cannot run here, so keep docker-compose.yml honest by reading it."""

import re

import yaml

from core.config import DEMO_SECRETS, ROOT, Settings
from workflows import search_attributes as sa

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services() -> None:
    assert set(COMPOSE["services"]) >= {"postgres", "temporal", "temporal-ui", "api", "worker"}
    assert COMPOSE["services"]["postgres"]["image"].startswith("postgres:15")


def test_platform_environment_names_are_real_settings() -> None:
    known = {f"XUEJIA_{name.upper()}" for name in Settings.model_fields}
    for service in ("api", "worker"):
        env = COMPOSE["services"][service]["environment"]
        assert set(env) <= known, set(env) - known
        assert env["XUEJIA_DEMO_MODE"] == "false"
        assert env["XUEJIA_DATABASE_URL"].startswith("postgresql+psycopg2://")


def test_every_search_attribute_is_registered_in_the_cluster() -> None:
    command = " ".join(COMPOSE["services"]["temporal-setup"]["command"])
    registered = dict(re.findall(r"--name (\w+) --type (\w+)", command))
    assert registered == {k.name: k.indexed_value_type.name.title() for k in sa.ALL}


def test_only_the_api_is_published_and_the_engine_is_internal() -> None:
    services = COMPOSE["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"api", "temporal-ui"}
    assert COMPOSE["networks"]["backend"]["internal"] is True
    for name in ("postgres", "temporal", "temporal-setup"):
        assert services[name]["networks"] == ["backend"], name
    # The UI has no authorisation of its own: off unless asked for, and never on all interfaces.
    ui = services["temporal-ui"]
    assert ui["profiles"] == ["ops"]
    assert all(str(p).startswith("127.0.0.1:") for p in ui["ports"])


def test_every_secret_a_deployment_must_set_is_demanded_without_a_default() -> None:
    for service in ("api", "worker"):
        env = COMPOSE["services"][service]["environment"]
        for name in DEMO_SECRETS:
            var = f"XUEJIA_{name.upper()}"
            assert env.get(var, "").startswith(f"${{{var}:?"), (service, var)


def test_the_ui_decodes_payloads_through_the_apis_codec_endpoint_with_credentials() -> None:
    ui = COMPOSE["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"].endswith("/api/ops/codec")
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
