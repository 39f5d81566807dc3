"""deploy/compose.yaml and deploy/env.example agree with the services' settings.

No Docker here: the files are read and checked against the settings classes, the
console scripts of pyproject.toml and each other (listeners, DSNs, ports).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devkit.testing.gateways import ProductionKeys
from services.cancellation.settings import CancellationSettings
from services.identity.settings import IdentitySettings
from services.notifier.settings import NotifierSettings
from services.verification.settings import VerificationSettings
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"

SETTINGS: dict[str, type[ServiceSettings]] = {
    "identity": IdentitySettings,
    "verification": VerificationSettings,
    "cancellation": CancellationSettings,
    "notifier": NotifierSettings,
}
SERVICES = list(SETTINGS)

# Settings whose local default (127.0.0.1 ...) is wrong inside a container.
CONTAINER_OVERRIDES = ("KAFKA_BOOTSTRAP_SERVERS", "POSTGRES_DSN", "REDIS_URL", "HTTP_HOST")
NOTIFIER_OVERRIDES = ("SMTP_HOST", "SMTP_PORT")


@pytest.fixture(autouse=True)
def _no_settings_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings classes read this process's environment (names case-insensitive):
    hide every setting so that only the files under test decide the values."""
    names = set().union(*(_field_names(settings) for settings in SETTINGS.values()))
    for variable in list(os.environ):
        if variable.upper() in names:
            monkeypatch.delenv(variable)


# --- reading the files -----------------------------------------------------------


@functools.cache
def _compose() -> dict[str, Any]:
    # safe_load resolves the anchors/aliases and the `<<` merge keys.
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "compose.yaml is not a mapping"
    assert isinstance(data.get("services"), dict), "compose.yaml has no services"
    return data


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _service(name: str) -> dict[str, Any]:
    services = _services()
    assert name in services, f"compose.yaml has no service {name!r}"
    service = services[name]
    assert isinstance(service, dict), f"service {name!r} is not a mapping"
    return service


def _env(name: str) -> dict[str, str]:
    """The environment of a compose service, as the container sees it."""
    raw = _service(name).get("environment", {})
    items: list[tuple[str, object]]
    if isinstance(raw, dict):
        items = list(raw.items())
    else:
        assert isinstance(raw, list), f"{name}: environment is neither a map nor a list"
        items = []
        for entry in raw:
            key, sep, text = str(entry).partition("=")
            items.append((key, text if sep else None))
    env: dict[str, str] = {}
    for key, value in items:
        # Compose rejects YAML booleans in `environment`, and a bare name (None)
        # copies the variable from the host: neither is a value the file controls.
        assert not isinstance(value, bool), f"{name}: {key} must be quoted ('{value}')"
        assert value is not None, f"{name}: {key} has no value"
        assert isinstance(value, str | int | float), f"{name}: {key} = {value!r}"
        env[str(key)] = str(value)
    return env


def _command(name: str) -> list[str]:
    command = _service(name).get("command")
    assert command, f"{name}: no command"
    if isinstance(command, str):
        return command.split()
    assert isinstance(command, list)
    return [str(part) for part in command]


def _ports(name: str) -> list[tuple[int | None, int]]:
    """(published host port, container port) of each `ports` entry."""
    pairs: list[tuple[int | None, int]] = []
    for entry in _service(name).get("ports", []):
        if isinstance(entry, dict):
            published = entry.get("published")
            pairs.append((int(published) if published is not None else None, int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        target = int(parts[-1])
        pairs.append((int(parts[-2]) if len(parts) >= 2 else None, target))
    return pairs


def _field_names(settings: type[ServiceSettings]) -> set[str]:
    return {field.upper() for field in settings.model_fields}


def _effective(service: str) -> ServiceSettings:
    """The settings a container of the service gets: its compose environment over
    the defaults."""
    env = _env(service)
    return SETTINGS[service].model_validate({key.lower(): value for key, value in env.items()})


def _kafka_map(service: str, variable: str) -> dict[str, str]:
    """NAME -> value of a Kafka listener list such as INTERNAL://kafka:9092,..."""
    value = _env(service).get(variable)
    assert value, f"{service}: {variable} is not set"
    result: dict[str, str] = {}
    for item in value.split(","):
        listener, sep, rest = item.strip().partition("://")
        assert sep, f"{service}: {variable} entry {item!r} is not NAME://host:port"
        result[listener] = rest
    return result


def _host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    assert sep and port.isdigit(), f"{address!r} is not host:port"
    return host, int(port)


def _service_by_host(host: str) -> str | None:
    """The compose service reachable as `host` on the compose network."""
    for name, service in _services().items():
        if host == name or host == service.get("hostname"):
            return name
    return None


ENV_LINE = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
SECTION_LINE = re.compile(r"^#\s*\[(?P<section>[a-z]+)\]")


def _env_example() -> dict[str, dict[str, str | None]]:
    """Section -> {NAME: value, or None for a commented-out (unset) setting}."""
    sections: dict[str, dict[str, str | None]] = {}
    current: dict[str, str | None] | None = None
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        if match := SECTION_LINE.match(line):
            current = sections.setdefault(match["section"], {})
        elif match := ENV_LINE.match(line):
            assert current is not None, f"env.example:{number}: {line!r} before any [section]"
            assert match["name"] not in current, f"env.example:{number}: {match['name']} twice"
            current[match["name"]] = None if match["comment"] else match["value"].strip()
    return sections


# --- the four services -------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_its_console_script(name: str) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts: dict[str, str] = pyproject["project"]["scripts"]
    command = _command(name)

    assert command[0] == f"{name}-service"
    assert scripts.get(command[0], "").startswith(f"services.{name}."), (
        f"{command[0]} is not the console script of services.{name}: {scripts}"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_from_the_deploy_dockerfile(name: str) -> None:
    build = _service(name).get("build")
    assert isinstance(build, dict), f"{name}: build must give context and dockerfile"
    context = (DEPLOY / build["context"]).resolve()

    assert context == ROOT
    assert (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert (DEPLOY / "Dockerfile").is_file()


@pytest.mark.parametrize("name", SERVICES)
def test_container_overrides_are_set(name: str) -> None:
    env = _env(name)
    settings = SETTINGS[name]
    required = CONTAINER_OVERRIDES + (NOTIFIER_OVERRIDES if name == "notifier" else ())

    for variable in required:
        assert variable in env, f"{name}: {variable} is not set"
        if variable == "SMTP_PORT":
            continue  # Mailpit's SMTP port happens to be the default: set explicitly anyway
        default = settings.model_fields[variable.lower()].default
        assert env[variable] != str(default), f"{name}: {variable} is the local default"
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env.get("KAFKA_IDEMPOTENT_PRODUCER") == "true"


@pytest.mark.parametrize("name", SERVICES)
def test_every_variable_is_a_setting_of_the_service(name: str) -> None:
    unknown = set(_env(name)) - _field_names(SETTINGS[name])

    assert not unknown, f"{name}: not settings of {SETTINGS[name].__name__}: {sorted(unknown)}"
    _effective(name)  # and every value is valid for its setting


@pytest.mark.parametrize("name", SERVICES)
def test_published_port_is_the_http_port(name: str) -> None:
    settings = SETTINGS[name]
    default_port = settings.model_fields["http_port"].default
    port = _effective(name).http_port

    assert port == default_port
    assert (port, port) in _ports(name), f"{name}: publish {port}:{port}, got {_ports(name)}"


@pytest.mark.parametrize("name", SERVICES)
def test_healthcheck_asks_readyz_on_the_http_port(name: str) -> None:
    healthcheck = _service(name).get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name}: no healthcheck"
    test = healthcheck["test"]
    text = " ".join(test) if isinstance(test, list) else str(test)
    urls = re.findall(r"https?://[^\s'\"]+", text)
    assert len(urls) == 1, f"{name}: healthcheck must request one URL: {text}"
    url = urlsplit(urls[0])

    assert url.hostname in ("127.0.0.1", "localhost")
    assert url.port == _effective(name).http_port
    assert url.path == "/readyz"
    assert "curl" not in text and "wget" not in text, "python:3.11-slim has neither"


@pytest.mark.parametrize("name", SERVICES)
def test_service_waits_for_healthy_infrastructure(name: str) -> None:
    depends_on = _service(name).get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"

    for dependency in ("kafka", "redis", "postgres"):
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", (
            f"{name} must wait for {dependency} to be healthy"
        )
        assert _service(dependency).get("healthcheck", {}).get("test"), (
            f"{dependency} has no healthcheck, service_healthy would never hold"
        )


# --- the infrastructure they point at ----------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_kafka_bootstrap_servers_are_served_by_the_kafka_listeners(name: str) -> None:
    bootstrap = _effective(name).kafka_bootstrap_servers

    for address in bootstrap.split(","):
        host, port = _host_port(address.strip())
        broker = _service_by_host(host)
        assert broker is not None, f"{name}: {host} is no compose service"
        advertised = _kafka_map(broker, "KAFKA_ADVERTISED_LISTENERS")
        listeners = _kafka_map(broker, "KAFKA_LISTENERS")
        protocols = dict(
            item.split(":", 1)
            for item in _env(broker)["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        names = [n for n, value in advertised.items() if _host_port(value) == (host, port)]
        assert names, f"{name}: {address} is not advertised by {broker}: {advertised}"
        listener = names[0]

        assert listener in listeners, f"{broker}: {listener} is advertised but not listened on"
        assert _host_port(listeners[listener])[1] == port
        assert protocols.get(listener) == _effective(name).kafka_security_protocol
        assert listener not in _env(broker)["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")


def test_kafka_is_a_single_kraft_node_with_an_external_listener() -> None:
    env = _env("kafka")
    listeners = _kafka_map("kafka", "KAFKA_LISTENERS")
    advertised = _kafka_map("kafka", "KAFKA_ADVERTISED_LISTENERS")
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    voter_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")

    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env.get("CLUSTER_ID")
    assert voter_id == env["KAFKA_NODE_ID"]
    assert _service_by_host(_host_port(voter)[0]) == "kafka"
    assert _host_port(voter)[1] == _host_port(listeners[controller])[1]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for variable in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[variable] == "1", variable
    # host tools: localhost:9094, published on the same port
    external = [n for n, value in advertised.items() if _host_port(value) == ("localhost", 9094)]
    assert external, f"nothing advertised as localhost:9094: {advertised}"
    assert _host_port(listeners[external[0]])[1] == 9094
    assert (9094, 9094) in _ports("kafka")


@pytest.mark.parametrize("name", SERVICES)
def test_postgres_dsn_points_at_the_postgres_service(name: str) -> None:
    dsn = urlsplit(_effective(name).postgres_dsn)
    postgres = _env("postgres")

    assert dsn.scheme in ("postgresql", "postgres")
    assert dsn.hostname is not None
    assert _service_by_host(dsn.hostname) == "postgres"
    assert str(_service("postgres").get("image", "")).startswith("postgres:16")
    assert dsn.port in (None, 5432)
    assert dsn.username == postgres.get("POSTGRES_USER", "postgres")
    assert dsn.password == postgres["POSTGRES_PASSWORD"]
    assert dsn.path in ("", "/"), "POSTGRES_DSN names the server; each service has its database"


@pytest.mark.parametrize("name", SERVICES)
def test_redis_url_points_at_the_redis_service(name: str) -> None:
    url = urlsplit(_effective(name).redis_url)

    assert url.scheme == "redis"
    assert url.hostname is not None
    assert _service_by_host(url.hostname) == "redis"
    assert url.port in (None, 6379)


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    """LOGIN-2, LOGIN-4: a Redis restart must not lift locks or refill budgets: the compose
    Redis writes an append-only file (synced at least every second) to a named volume."""
    redis = _compose()["services"]["redis"]
    command = redis["command"]
    options = dict(zip(command[1::2], command[2::2], strict=False))
    assert command[0] == "redis-server"
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] in {"everysec", "always"}
    volume, _, path = next(v for v in redis["volumes"] if v.endswith(":/data")).partition(":")
    assert path == "/data"
    assert volume in _compose()["volumes"]


def test_postgres_keeps_its_data_on_a_volume() -> None:
    """LOGIN-2: the lock's recorded end (and everything else) outlives the container."""
    postgres = _compose()["services"]["postgres"]
    mounts = [v.partition(":") for v in postgres["volumes"]]
    assert any(path == "/var/lib/postgresql/data" for _, _, path in mounts)
    assert {name for name, _, _ in mounts} <= set(_compose()["volumes"])


def test_notifier_sends_to_the_mail_sink() -> None:
    settings = _effective("notifier")
    assert isinstance(settings, NotifierSettings)
    mailpit = _service_by_host(settings.smtp_host)

    assert mailpit is not None, f"SMTP_HOST {settings.smtp_host} is no compose service"
    assert "mailpit" in str(_service(mailpit).get("image", ""))
    assert settings.smtp_port == 1025
    assert (8025, 8025) in _ports(mailpit), "the Mailpit UI is published on 8025"


# --- deploy/env.example --------------------------------------------------------------


def test_env_example_names_only_settings() -> None:
    known = set().union(*(_field_names(settings) for settings in SETTINGS.values()))
    named = {name for section in _env_example().values() for name in section}

    assert named, "env.example names no variable"
    assert not named - known, f"not a setting of any service: {sorted(named - known)}"


@pytest.mark.parametrize("name", SERVICES)
def test_env_example_lists_every_setting_with_its_default(name: str) -> None:
    sections = _env_example()
    assert set(sections) == {"common", *SERVICES}, f"sections: {sorted(sections)}"
    settings = SETTINGS[name]
    listed = {**sections["common"], **sections[name]}

    assert set(listed) == _field_names(settings)
    unset = {key for key, value in listed.items() if value is None}
    for key in unset:
        assert settings.model_fields[key.lower()].default is None, f"{key} has a default"
    given = {key.lower(): value for key, value in listed.items() if value is not None}
    assert settings.model_validate(given) == settings.model_validate({}), (
        f"env.example values of {name} are not the defaults"
    )


# --- identity's keys and providers: deploy/identity.env ------------------------------

IDENTITY_ENV_EXAMPLE = DEPLOY / "identity.env.example"
IDENTITY_SECRETS = {
    "SESSION_SIGNING_KEY",
    "CODE_HMAC_KEY",
    "MFA_ENCRYPTION_KEYS",
    "IDENTITY_PROVIDER",
    "IDENTITY_PROVIDER_PUBLIC_KEY",
    "CAPTCHA_PROVIDER",
    "CAPTCHA_PUBLIC_KEY",
}


def _identity_env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in IDENTITY_ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if (match := ENV_LINE.match(line)) and not match["comment"]:
            values[match["name"]] = match["value"].strip()
    return values


def _filled_identity_env() -> dict[str, str]:
    """The example with every empty value filled as its comments say (fresh keys)."""
    keys = ProductionKeys().settings()
    filled = {}
    for name, value in _identity_env_example().items():
        fresh = str(keys[name.lower()]).replace("\n", "\\n")
        filled[name] = value or fresh
    return filled


def test_identity_reads_its_keys_from_a_git_ignored_env_file() -> None:
    env_files = _service("identity").get("env_file")

    assert env_files in (["identity.env"], "identity.env"), env_files
    assert "deploy/identity.env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert IDENTITY_ENV_EXAMPLE.is_file()
    assert not IDENTITY_SECRETS & set(_env("identity")), "keys belong in identity.env only"
    assert _env("identity").get("DEV_MODE", "false") == "false"


def test_identity_env_example_holds_every_key_and_provider_and_nothing_usable() -> None:
    example = _identity_env_example()

    assert set(example) == IDENTITY_SECRETS
    assert {example["IDENTITY_PROVIDER"], example["CAPTCHA_PROVIDER"]} == {"signed"}
    assert all(example[name] == "" for name in IDENTITY_SECRETS if not name.endswith("PROVIDER"))


def test_compose_identity_refuses_to_start_until_its_env_file_is_filled() -> None:
    """ASVS 2.10.4: as shipped, nothing in the files is a usable key; filled, it starts."""
    as_shipped = {**_env("identity"), **_identity_env_example()}
    filled = {**_env("identity"), **_filled_identity_env()}

    refused = IdentitySettings.model_validate({k.lower(): v for k, v in as_shipped.items()})
    started = IdentitySettings.model_validate({k.lower(): v for k, v in filled.items()})
    assert {line.split()[0] for line in refused.refusals()} >= {
        "IDENTITY_PROVIDER=signed",
        "CAPTCHA_PROVIDER=signed",
        "SESSION_SIGNING_KEY",
        "CODE_HMAC_KEY",
        "MFA_ENCRYPTION_KEYS",
    }
    assert started.refusals() == []
    assert IdentitySettings.model_validate(
        {k.lower(): v for k, v in _env("identity").items()}
    ).refusals()


# --- verification's keys and provider: deploy/verification.env ------------------------

VERIFICATION_ENV_EXAMPLE = DEPLOY / "verification.env.example"
VERIFICATION_SECRETS = {
    "ID_ENCRYPTION_KEYS",
    "ID_HASH_KEY",
    "PERSON_PROVIDER",
    "PERSON_PROVIDER_URL",
    "PERSON_PROVIDER_TOKEN",
    "ENTERPRISE_GATEWAY",
    "ENTERPRISE_GATEWAY_URL",
    "ENTERPRISE_GATEWAY_TOKEN",
}


def _verification_env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in VERIFICATION_ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if (match := ENV_LINE.match(line)) and not match["comment"]:
            values[match["name"]] = match["value"].strip()
    return values


def test_verification_reads_its_keys_from_a_git_ignored_env_file() -> None:
    env_files = _service("verification").get("env_file")
    example = _verification_env_example()

    assert env_files in (["verification.env"], "verification.env"), env_files
    assert "deploy/verification.env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert set(example) == VERIFICATION_SECRETS
    assert not VERIFICATION_SECRETS & set(_env("verification")), "keys belong in the env file"
    assert _env("verification").get("DEV_MODE", "false") == "false"
    assert example["PERSON_PROVIDER"] == example["ENTERPRISE_GATEWAY"] == "http"
    providers = {"PERSON_PROVIDER", "ENTERPRISE_GATEWAY"}
    assert all(example[name] == "" for name in VERIFICATION_SECRETS - providers)


def test_compose_verification_refuses_to_start_until_its_env_file_is_filled() -> None:
    """As shipped nothing in the files is usable (RN-17 keys, the provider); filled, it starts."""
    as_shipped = {**_env("verification"), **_verification_env_example()}
    filled = {
        **as_shipped,
        "ID_ENCRYPTION_KEYS": "k1:" + "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleTE=",
        "ID_HASH_KEY": "h" * 48,
        "PERSON_PROVIDER_URL": "https://realname.example.com/check",
        "PERSON_PROVIDER_TOKEN": "t" * 32,
        "ENTERPRISE_GATEWAY_URL": "https://enterprise-gateway.example.com",
        "ENTERPRISE_GATEWAY_TOKEN": "g" * 32,
    }

    refused = VerificationSettings.model_validate({k.lower(): v for k, v in as_shipped.items()})
    started = VerificationSettings.model_validate({k.lower(): v for k, v in filled.items()})
    assert {line.split()[0] for line in refused.refusals()} >= {
        "PERSON_PROVIDER=http",
        "ENTERPRISE_GATEWAY=http",
        "ID_ENCRYPTION_KEYS",
        "ID_HASH_KEY",
    }
    assert started.refusals() == []


@pytest.mark.parametrize("name", SERVICES)
def test_identity_jwks_url_points_at_the_identity_service(name: str) -> None:
    url = urlsplit(_effective(name).identity_jwks_url)

    assert url.hostname is not None
    assert _service_by_host(url.hostname) == "identity"
    assert url.port == _effective("identity").http_port
    assert url.path == "/.well-known/jwks.json"


# --- Kafka: SASL/SCRAM users and per-service ACLs (issue 7 item 8) ---------------------

KAFKA_ENV_EXAMPLE = DEPLOY / "kafka.env.example"
SETUP_SCRIPT = DEPLOY / "kafka" / "setup.sh"
ASYNCAPI = ROOT / "docs" / "asyncapi"
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_]+):\?[^}]*\}")


def _kafka_env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in KAFKA_ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if (match := ENV_LINE.match(line)) and not match["comment"]:
            values[match["name"]] = match["value"].strip()
    return values


def _access(service: str) -> tuple[set[str], set[str]]:
    """(topics the service writes, topics it reads), from its committed AsyncAPI document
    (tests/contract checks the document against the code)."""
    doc = json.loads((ASYNCAPI / f"{service}.json").read_text(encoding="utf-8"))
    writes: set[str] = set()
    reads: set[str] = set()
    for operation in doc["operations"].values():
        channel = doc["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
        (reads if operation["action"] == "receive" else writes).add(channel["address"])
    return writes, reads


def _external_producers() -> dict[str, set[str]]:
    """Each external producer (docs/asyncapi/external.json: channels `<producer>:<topic>`)
    and the topics it publishes."""
    doc = json.loads((ASYNCAPI / "external.json").read_text(encoding="utf-8"))
    producers: dict[str, set[str]] = {}
    for operation in doc["operations"].values():
        key = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        assert operation["action"] == "send", key
        producers.setdefault(key.split(":", 1)[0], set()).add(doc["channels"][key]["address"])
    return producers


def _acls_granted(tmp_path: Path) -> tuple[set[tuple[str, str, str, str, str]], list[str]]:
    """Run setup.sh with a stand-in for the admin client that records each call: the ACLs
    granted as (user, operation, resource type, name, pattern), and the users created."""
    calls = tmp_path / "calls"
    recorder = tmp_path / "admin-client.sh"
    recorder.write_text(f'#!/usr/bin/env bash\nprintf "%s\\0" "$@" >> {calls}\necho >> {calls}\n')
    recorder.chmod(0o755)
    passwords = {name: f"pw-{name.lower()}" for name in _kafka_env_example()}
    subprocess.run(
        ["bash", str(SETUP_SCRIPT)],
        env={**os.environ, **passwords, "ADMIN_CLIENT": str(recorder)},
        check=True,
        capture_output=True,
    )
    acls: set[tuple[str, str, str, str, str]] = set()
    users: list[str] = []
    for line in calls.read_text().splitlines():
        args = [a for a in line.split("\0") if a]
        if args[0] == "kafka-configs":
            users.append(args[args.index("--entity-name") + 1])
            assert "SCRAM-SHA-512=[" in args[args.index("--add-config") + 1]
            continue
        if args[:2] == ["kafka-acls", "--list"]:
            continue  # the script shows what it set
        assert args[:2] == ["kafka-acls", "--add"], args
        user = args[args.index("--allow-principal") + 1].removeprefix("User:")
        operation = args[args.index("--operation") + 1]
        kind = "topic" if "--topic" in args else "group"
        name = args[args.index(f"--{kind}") + 1]
        pattern = args[args.index("--resource-pattern-type") + 1]
        acls.add((user, operation, kind, name, pattern))
    return acls, users


def test_every_kafka_listener_authenticates_and_acls_deny_by_default() -> None:
    env = _env("kafka")
    protocols = dict(
        item.split(":", 1) for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )

    assert set(protocols.values()) <= {"SASL_PLAINTEXT", "SASL_SSL"}, protocols
    assert set(protocols) == set(_kafka_map("kafka", "KAFKA_LISTENERS"))
    assert "SCRAM-SHA-512" in env["KAFKA_SASL_ENABLED_MECHANISMS"].split(",")
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    for listener in set(protocols) - {env["KAFKA_CONTROLLER_LISTENER_NAMES"]}:
        scram = f"KAFKA_LISTENER_NAME_{listener}_SCRAM___SHA___512_SASL_JAAS_CONFIG"
        assert "ScramLoginModule" in env[scram], listener
    for listener in protocols:
        plain = env[f"KAFKA_LISTENER_NAME_{listener}_PLAIN_SASL_JAAS_CONFIG"]
        assert 'username="admin"' in plain and "user_admin=" in plain, listener


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_logs_in_to_kafka_as_its_own_scram_user(name: str) -> None:
    env = _env(name)
    settings = _effective(name)
    password = INTERPOLATION.fullmatch(env["KAFKA_SASL_PASSWORD"])

    assert settings.kafka_security_protocol == "SASL_PLAINTEXT"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.kafka_sasl_username == name
    assert password is not None, "the password comes from deploy/.env, never the file"
    assert password["name"] == f"{name.upper()}_KAFKA_PASSWORD"
    assert settings.refusals() == [] or all("KAFKA" not in p for p in settings.refusals())
    depends_on = _service(name)["depends_on"]
    assert depends_on["kafka-setup"]["condition"] == "service_completed_successfully"


def test_a_sasl_service_without_its_credentials_refuses_to_start() -> None:
    settings = VerificationSettings(kafka_security_protocol="SASL_PLAINTEXT")
    assert any("KAFKA_SASL_USERNAME" in p for p in settings.refusals())


def test_no_kafka_password_is_written_in_compose_and_each_has_a_line_in_the_example() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    literal = re.findall(r'password="(?!\$\{)', text) + re.findall(r"password=(?!\$\{)\w", text)
    used = {m["name"] for m in INTERPOLATION.finditer(text)}
    example = _kafka_env_example()

    assert literal == [], "a password written in compose.yaml"
    assert used == set(example), (sorted(used), sorted(example))
    assert all(value == "" for value in example.values()), "no usable password is shipped"
    assert "deploy/.env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    setup_env = _env("kafka-setup")
    assert {INTERPOLATION.fullmatch(v)["name"] for v in setup_env.values()} == set(example)  # type: ignore[index]


def test_the_acls_grant_each_service_exactly_what_its_asyncapi_document_says(
    tmp_path: Path,
) -> None:
    """Write what it publishes and the DLQs it feeds, Read what it consumes (and its own
    consumer groups), Create what it ensures at start: nothing more."""
    acls, users = _acls_granted(tmp_path)
    expected: set[tuple[str, str, str, str, str]] = set()
    for service in SERVICES:
        writes, reads = _access(service)
        ensured = {t for t in writes | reads if not t.endswith(".dlq")}
        expected |= {(service, "Write", "topic", t, "literal") for t in writes}
        expected |= {(service, "Read", "topic", t, "literal") for t in reads}
        expected |= {(service, "Create", "topic", t, "literal") for t in ensured}
        expected |= {(service, "Create", "topic", f"{t}.dlq", "literal") for t in ensured}
        expected.add((service, "Read", "group", f"{service}.", "prefixed"))
    for producer, topics in _external_producers().items():
        expected |= {(producer, "Write", "topic", t, "literal") for t in topics}

    assert sorted(users) == sorted([*SERVICES, *_external_producers()])
    assert acls == expected, {"missing": expected - acls, "extra": acls - expected}


def test_each_external_producer_alone_writes_its_own_topic(tmp_path: Path) -> None:
    """EXT: verification and cancellation trust a billing, resources, CAM or complaints fact
    by the topic it came on, so each such topic has exactly one writer, its producer's own
    user, and that user may do nothing else (no read, no group, no other topic)."""
    acls, users = _acls_granted(tmp_path)
    producers = _external_producers()

    assert set(producers) == {"billing", "resources", "cam", "complaints"}
    for producer, topics in producers.items():
        assert producer in users
        assert topics == {f"{producer}.events"}
        granted = {(op, kind, name) for user, op, kind, name, _ in acls if user == producer}
        assert granted == {("Write", "topic", t) for t in topics}, producer
        writers = {
            user
            for user, op, kind, name, _ in acls
            if op == "Write" and kind == "topic" and name in topics
        }
        assert writers == {producer}


def test_only_identity_may_write_notifier_requests(tmp_path: Path) -> None:
    """NOT: a NotificationRequested carries a destination and a code; the notifier trusts
    its envelope's producer because the broker lets only identity write the topic."""
    acls, _ = _acls_granted(tmp_path)
    writers = {
        user
        for user, op, kind, name, _ in acls
        if (op, kind, name) == ("Write", "topic", "notifier.requests")
    }

    assert writers == {"identity"}
    assert _effective("notifier").trusted_producers == "identity"  # type: ignore[attr-defined]
