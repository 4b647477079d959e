"""deploy/Dockerfile, its .dockerignore, what the install ships, and the health check script.

No Docker engine here, so the image is not built. Instead: the Dockerfile is
parsed and checked (stages, non-root user matching the Kubernetes manifests,
commands that run modules of this repository, generation before the
non-editable install); every file it copies from the context survives the
.dockerignore; the install step it performs (`pip install` of the project
after generating gen/) is repeated on a copy of the tree to prove the wheel
carries every service file, migration and generated module; and the compose
health check script is run against a real gRPC health server on loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from deploy_facts import DEPLOY, OVERLAYS, ROOT, module_file, python_module_of
from dockerfile import dockerignore_excludes, parse, read_dockerignore
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from kustomize_lite import render

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"


def stages():
    return parse(DOCKERFILE)


def runtime():
    return stages()[-1]


def builder():
    (found,) = [s for s in stages() if s.name == "builder"]
    return found


def test_two_stages_on_python_3_11_slim() -> None:
    assert [s.name for s in stages()] == ["builder", "runtime"]
    for stage in stages():
        assert stage.base.startswith("python:3.11-slim"), stage.base
    assert DOCKERFILE.read_text().startswith("# syntax=docker/dockerfile:1"), (
        "here-documents and cache mounts need the BuildKit Dockerfile syntax"
    )


def test_runtime_user_is_non_root_and_matches_kubernetes() -> None:
    user = runtime().last("USER")
    assert user is not None, "the runtime stage must set USER"
    uid, _, gid = user.arguments.partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root uid lets Kubernetes verify runAsNonRoot"
    assert gid.isdigit() and int(gid) != 0
    # Every pod runs as the image's user.
    for directory in OVERLAYS.values():
        for obj in render(directory):
            if obj["kind"] in ("Deployment", "Job"):
                security = obj["spec"]["template"]["spec"]["securityContext"]
                assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    # The data dir belongs to that user.
    creates = " ".join(r.arguments for r in runtime().all("RUN"))
    assert f"install -d -o {uid} -g {gid}" in creates and "/var/lib/interviews" in creates


def test_runtime_environment() -> None:
    env = " ".join(e.arguments for e in runtime().all("ENV"))
    # Read-only root filesystem: nothing may try to write .pyc files.
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "INTERVIEWS_DATA_DIR=/var/lib/interviews" in env
    assert "PATH=/opt/venv/bin:$PATH" in env
    # Only the venv from the builder and the health check script come in.
    copies = [c.flags_and_words() for c in runtime().all("COPY")]
    assert copies == [
        ({"from": "builder"}, ["/opt/venv", "/opt/venv"]),
        ({}, ["deploy/healthcheck.py", "/opt/interviews/healthcheck.py"]),
    ]


def test_default_command_runs_a_service_module() -> None:
    assert runtime().last("ENTRYPOINT") is None, "commands are spelled out in compose and Kubernetes"
    cmd = runtime().last("CMD")
    assert cmd is not None and cmd.exec_form() is not None, "exec form: python is PID 1 and gets SIGTERM"
    module, arguments = python_module_of(cmd.exec_form())
    assert (module, arguments) == ("services.scheduling", [])
    assert module_file(module) is not None


def test_builder_generates_code_before_a_regular_install() -> None:
    runs = [r.arguments for r in builder().all("RUN")]
    generate = next(i for i, r in enumerate(runs) if "scripts/gen_protos.py" in r)
    install = next(i for i, r in enumerate(runs) if "/opt/venv/bin/pip install" in r)
    assert generate < install
    assert " -e " not in runs[install] and "--editable" not in runs[install]
    assert (ROOT / "scripts" / "gen_protos.py").is_file()


def test_codegen_pins_come_from_pyproject(tmp_path: Path) -> None:
    # The builder's here-document extracts the generator pins from
    # pyproject.toml; run it on the real file, as the build will.
    (script,) = [r for r in builder().all("RUN") if r.heredocs]
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", script.heredocs[0]], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    pins = result.stdout.split()
    assert sorted(p.split("=")[0].split(">")[0] for p in pins) == ["grpcio-tools", "mypy-protobuf"]
    assert "grpcio-tools==1.85.1" in pins


def context_files() -> list[str]:
    """Files of the repository a build context could contain (tracked or not, minus local state)."""
    skip = {".git", ".venv", "node_modules", ".pytest_cache", ".hypothesis", "data", "build"}
    files = []
    for directory, subdirectories, names in os.walk(ROOT):
        if Path(directory) == ROOT:
            subdirectories[:] = [d for d in subdirectories if d not in skip]
        relative = Path(directory).relative_to(ROOT)
        files.extend((relative / name).as_posix() for name in names)
    return files


def test_dockerignore_keeps_exactly_what_the_build_copies() -> None:
    patterns = read_dockerignore(DOCKERIGNORE)
    copied_sources = []
    for stage in stages():
        for copy in stage.all("COPY"):
            flags, words = copy.flags_and_words()
            if "from" not in flags:
                copied_sources.extend(words[:-1])
    files = context_files()
    for source in copied_sources:
        source = source.rstrip("/")
        matched = [f for f in files if f == source or f.startswith(source + "/")]
        assert matched, f"COPY {source}: nothing in the repository"
        for file in matched:
            if "__pycache__" in file or file.endswith(".pyc"):
                assert dockerignore_excludes(patterns, file), file
            else:
                assert not dockerignore_excludes(patterns, file), f"{file} is copied but ignored"
    # Local state never reaches the builder (gen/ is regenerated in the image).
    for local in (".venv/bin/python", "gen/interviews/__init__.py", ".git/HEAD", "data/x.sqlite3", "node_modules/x"):
        assert dockerignore_excludes(patterns, local), local


def test_dockerignore_matching_rules() -> None:
    patterns = ["*", "!services/", "**/__pycache__", "!keep/**/x.txt"]
    assert dockerignore_excludes(patterns, "pyproject.toml")
    assert not dockerignore_excludes(patterns, "services/core/config.py")
    assert dockerignore_excludes(patterns, "services/core/__pycache__/config.cpython-311.pyc")
    assert not dockerignore_excludes(patterns, "keep/a/b/x.txt")
    assert dockerignore_excludes(patterns, "keep/a/b/y.txt")


# Files the code may load at run time (modules, alembic's ini and mako
# template, SQL, mail templates, data). Markers and notes (READY, *.md) are not.
RUNTIME_SUFFIXES = {
    ".py", ".pyi", ".ini", ".mako", ".sql", ".json", ".yaml", ".yml", ".toml", ".csv",
    ".txt", ".html", ".j2", ".jinja", ".jinja2", ".tmpl", ".ics", ".eml",
}  # fmt: skip


@pytest.mark.slow
def test_the_install_ships_services_migrations_and_generated_code(tmp_path: Path) -> None:
    """What the builder's `pip install /src` puts into the image, on a copy of the tree."""
    if not (ROOT / "gen" / "interviews" / "__init__.py").is_file():
        pytest.skip("gen/ is missing: run `make setup` (the image generates it itself)")
    source = tmp_path / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "services", source / "services", ignore=ignore)
    shutil.copytree(ROOT / "gen", source / "gen", ignore=ignore)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--quiet", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("interviews-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for tree, prefix in ((source / "services", "services"), (source / "gen" / "interviews", "interviews")):
        for path in tree.rglob("*"):
            if path.is_file() and path.suffix in RUNTIME_SUFFIXES:
                expected.add(f"{prefix}/{path.relative_to(tree).as_posix()}")
    missing = sorted(expected - shipped)
    # A file left out here is missing in the container: a migration, a
    # template, a generated stub. Add it to [tool.setuptools.package-data].
    assert not missing, f"the install would leave out: {missing}"
    assert "interviews/scheduling/v1/scheduling_pb2_grpc.py" in shipped


# --- the compose health check script ---------------------------------------------------


@pytest.fixture
def health_server():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0).wait()


def load_healthcheck():
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_healthcheck", DEPLOY / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_follows_the_serving_status(health_server) -> None:
    servicer, port = health_server
    healthcheck = load_healthcheck()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert healthcheck.main([str(port)]) == 0
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)  # what SIGTERM does
    assert healthcheck.main([str(port)]) == 1
    assert healthcheck.main([str(port), "--service", "no.such.Service"]) == 1


def test_healthcheck_fails_when_nothing_answers(health_server) -> None:
    servicer, port = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    healthcheck = load_healthcheck()
    # A port nobody listens on: the one of a server that was just stopped.
    stopped = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    closed_port = stopped.add_insecure_port("127.0.0.1:0")
    stopped.start()
    stopped.stop(0).wait()
    assert healthcheck.main([str(closed_port), "--timeout", "1"]) == 1


def test_healthcheck_runs_as_a_script_outside_the_repository(health_server, tmp_path: Path) -> None:
    # In the image it runs from /opt/interviews with only the venv's packages.
    servicer, port = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    script = tmp_path / "healthcheck.py"
    shutil.copy(DEPLOY / "healthcheck.py", script)
    result = subprocess.run(
        [sys.executable, "-I", str(script), str(port)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SERVING"
