"""deploy/compose.yaml: the Compose specification's schema, then what must hold.

No Docker engine here, so nothing starts. The file is interpolated the way
`docker compose` does (from deploy/compose.env.example, the file people copy to
deploy/.env), validated against the compose-spec JSON schema that
check-jsonschema vendors, and then checked for the mistakes a schema cannot
see: start order, commands that run modules of this repository, every
variable each service needs, secrets only where they belong, health checks on
the right ports, nothing but loopback published.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from deploy_facts import (
    DEPLOY,
    MIGRATE_MODULE,
    MUST_AGREE,
    SECRET_OWNERS,
    SERVICES,
    module_file,
    python_module_of,
)
from kustomize_lite import split_image

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose.env.example"
HEALTHCHECK_IN_IMAGE = "/opt/interviews/healthcheck.py"
# Secrets compose must refuse to start without (`${VAR:?message}`).
REQUIRED_VARIABLES = {"POSTGRES_PASSWORD", "INTERVIEWS_TOKEN_SECRET", "ACCOMMODATIONS_ENCRYPTION_KEYS"}

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ValueError):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, $$."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        is_set, is_nonempty = value is not None, bool(value)
        if op in (":-", "-"):
            return value if (is_nonempty if op == ":-" else is_set) else arg
        if op in (":?", "?"):
            if not (is_nonempty if op == ":?" else is_set):
                raise MissingVariable(f"{name}: {arg}")
            return value or ""
        if op in (":+", "+"):
            return arg if (is_nonempty if op == ":+" else is_set) else ""
        return value or ""

    return _VARIABLE.sub(substitute, text)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        assert separator, f"{path}: not KEY=value: {line}"
        values[key.strip()] = value.strip()
    return values


@cache
def example_env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@cache
def compose() -> dict[str, Any]:
    # Interpolation happens on the text before YAML merges are resolved, as in
    # compose (it interpolates scalar values; the values here are plain strings).
    return yaml.safe_load(interpolate(COMPOSE.read_text(), example_env()))


def services() -> dict[str, Any]:
    return compose()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    assert "env_file" not in service, "settings come through interpolation, so a missing one fails early"
    return {k: "" if v is None else str(v) for k, v in env.items()}


def compose_spec_schema() -> dict[str, Any]:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(schema_file.read_text())


def test_valid_against_the_compose_specification() -> None:
    schema = compose_spec_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_can_fail() -> None:
    schema = compose_spec_schema()
    broken = json.loads(json.dumps(compose()))
    broken["services"]["scheduling"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))


def test_secrets_are_required_and_every_setting_is_used() -> None:
    text = COMPOSE.read_text()
    used = {m["braced"] or m["bare"] for m in _VARIABLE.finditer(text) if not m["escaped"]}
    assert set(example_env()) == used, "compose.env.example and compose.yaml must name the same variables"
    for variable in REQUIRED_VARIABLES:
        without = {k: v for k, v in example_env().items() if k != variable}
        with pytest.raises(MissingVariable, match=variable):
            interpolate(text, without)
    for variable, value in example_env().items():
        if variable in REQUIRED_VARIABLES:
            assert "change-me" in value, f"{variable}: the example must not look like a real secret"


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("$SET ${SET} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} $$SET", env) == "x x d d  $SET"
    assert interpolate("${SET:+alt}${UNSET:+alt}", env) == "alt"
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?needed}", env)


def test_every_service_has_an_image_and_a_build_that_exists() -> None:
    for name, service in services().items():
        assert "image" in service, name
        if "build" in service:
            context = (COMPOSE.parent / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
            assert (context / "pyproject.toml").is_file(), f"{name}: the context is the repository root"
        else:
            _, tag, digest = split_image(service["image"])
            assert digest or (tag and tag != "latest"), f"{name}: pin {service['image']}"


def test_start_order_postgres_then_migrations_then_services() -> None:
    all_services = services()
    for name, service in all_services.items():
        for target, condition in (service.get("depends_on") or {}).items():
            assert target in all_services, f"{name} depends on unknown {target}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in all_services[target], f"{target} has no healthcheck to wait for"
    assert all_services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert all_services["migrate"]["restart"] == "no", "a one-shot must not restart after it exits 0"
    for name in SERVICES:
        depends = all_services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
    # No cycles (compose refuses them).

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle {path + (name,)}"
        for target in all_services[name].get("depends_on") or {}:
            visit(target, path + (name,))

    for name in all_services:
        visit(name, ())


def test_commands_run_modules_of_this_repository() -> None:
    module, arguments = python_module_of(services()["migrate"]["command"])
    assert (module, arguments) == (MIGRATE_MODULE, ["--all"])
    assert module_file(MIGRATE_MODULE) is not None
    for name, facts in SERVICES.items():
        module, arguments = python_module_of(services()[name]["command"])
        assert (module, arguments) == (facts.module, [])
        assert module_file(module) is not None, f"{module} is missing from the repository"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_gets_what_it_needs(name: str) -> None:
    facts, all_services = SERVICES[name], services()
    env = environment(all_services[name])
    missing = sorted(facts.required_env - set(env))
    assert not missing, f"{name} lacks {missing}"
    assert env.get("INTERVIEWS_SKIP_MIGRATIONS") == "1", "the migrate service did it"
    assert int(env.get(facts.port_variable, facts.port)) == facts.port
    # The database is the postgres service, with its credentials.
    postgres = environment(all_services["postgres"])
    url = urlsplit(env["DATABASE_URL"])
    assert url.scheme == "postgresql+psycopg"
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert (url.username, url.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
    assert url.path == f"/{postgres['POSTGRES_DB']}"
    assert env["DATABASE_URL"] == environment(all_services["migrate"])["DATABASE_URL"]
    for callee in facts.callees:
        variable = f"{callee.upper()}_ADDRESS"
        if variable in env:
            assert env[variable] == f"{callee}:{SERVICES[callee].port}"
    for secret, owner in SECRET_OWNERS.items():
        if owner != name:
            assert secret not in env, f"{name} must not receive {secret}"
    if name == "notifications":
        assert env["SMTP_HOST"] in all_services and env["SMTP_HOST"] == "mailpit"
        assert env["SMTP_PORT"] == "1025" and env["SMTP_SECURITY"] == "none"


def test_invite_organizer_and_sender_agree() -> None:
    names, variables = MUST_AGREE
    envs = [environment(services()[name]) for name in names]
    for variable in variables:
        assert len({env.get(variable) for env in envs}) == 1, variable


def test_all_services_share_one_token_secret() -> None:
    secrets = {environment(services()[name])["INTERVIEWS_TOKEN_SECRET"] for name in SERVICES}
    assert secrets == {example_env()["INTERVIEWS_TOKEN_SECRET"]}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_healthcheck_and_published_ports(name: str) -> None:
    facts, service = SERVICES[name], services()[name]
    test = service["healthcheck"]["test"]
    assert test == ["CMD", "python", HEALTHCHECK_IN_IMAGE, str(facts.port)]
    published = service.get("ports", [])
    if facts.external_callers:
        # People's tools reach it from the host, on loopback only.
        assert published == [f"127.0.0.1:{facts.port}:{facts.port}"]
    else:
        assert published == [], f"{name} is called only by the other services"


def test_the_healthcheck_script_is_where_the_image_puts_it() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"COPY deploy/healthcheck.py {HEALTHCHECK_IN_IMAGE}" in dockerfile


def test_nothing_is_published_beyond_loopback() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: {port}"


@pytest.mark.parametrize("name", [*sorted(SERVICES), "migrate"])
def test_containers_are_hardened(name: str) -> None:
    service = services()[name]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert "/tmp" in service["tmpfs"]
    assert "user" not in service, "the image's non-root USER applies"
