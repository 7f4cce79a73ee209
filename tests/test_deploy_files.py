"""The deployment examples in deploy/ (shown whole in docs/fleet.md) are usable as written.

The Kubernetes file parses and describes workers that fit the fleet guide (its fleet
file is one, the grace period outlasts a lease, no liveness probe); the systemd unit
has the keys a service needs; the Containerfile installs the extras the worker
imports and runs it as a non-root user. Neither a container runtime nor a cluster is
needed: the files are read, not deployed.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest

from registration_fsm.cli import cli
from registration_fsm.fleet import FleetConfig, FleetDefaults

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "registration-fsm-worker.service"
CONTAINERFILE = DEPLOY / "Containerfile"
KUBERNETES = DEPLOY / "kubernetes.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: The extras a worker imports: boto3 (the API, STS, SQS) and psycopg (the store).
WORKER_EXTRAS = {"aws": "boto3", "postgres": "psycopg"}


def _logical_lines(text: str) -> list[str]:
    """Lines with ``\\`` continuations joined and comments dropped (unit files and
    Containerfiles both continue a line with a final backslash)."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith(("#", ";"))):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    assert not pending, "a continued line never ends"
    return out


def _worker_args(words: list[str]) -> dict[str, str]:
    """``--option value`` pairs after ``worker`` (flags map to "")."""
    args = words[words.index("worker") + 1 :]
    found: dict[str, str] = {}
    for i, word in enumerate(args):
        if word.startswith("--"):
            following = args[i + 1] if i + 1 < len(args) else ""
            found[word] = "" if following.startswith("--") else following
    return found


def _check_store_url(url: str) -> None:
    assert url.startswith("postgresql://"), url
    userinfo = url.split("://", 1)[1].partition("@")[0]
    assert ":" not in userinfo, f"a password on the command line: {url}"


def test_the_fleet_guide_shows_every_deploy_file_whole() -> None:
    guide = (ROOT / "docs" / "fleet.md").read_text()
    files = sorted(p.name for p in DEPLOY.iterdir())
    assert files == sorted([UNIT.name, CONTAINERFILE.name, KUBERNETES.name])
    for name in files:
        assert f'--8<-- "deploy/{name}"' in guide, f"docs/fleet.md does not include {name}"


# -- systemd -----------------------------------------------------------------------


def _unit() -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in _logical_lines(UNIT.read_text()):
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = sections.setdefault(header[1], {})
            continue
        assert current is not None, f"{line!r} is outside any section"
        key, sep, value = line.partition("=")
        assert sep, f"{line!r} is not KEY=VALUE"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_systemd_unit_runs_a_worker_as_a_service() -> None:
    unit = _unit()
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert unit["Unit"]["Description"]
    assert "network-online.target" in unit["Unit"]["After"][0]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert service["Type"] == ["exec"]
    assert service["User"][0] not in ("root", "0")
    (exec_start,) = service["ExecStart"]
    words = shlex.split(exec_start)
    assert words[0].startswith("/")
    assert words[0].endswith("/registration-fsm")
    args = _worker_args(words)
    assert args["--fleet"].startswith("/")
    assert args["--fleet"].endswith(".toml")
    _check_store_url(args["--store"])


def test_the_systemd_unit_stops_gracefully_and_does_not_restart_a_usage_error() -> None:
    service = _unit()["Service"]
    assert service.get("KillSignal", ["SIGTERM"]) == ["SIGTERM"]
    (timeout,) = service["TimeoutStopSec"]
    assert float(timeout) > FleetDefaults().lease_seconds
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]
    environment = dict(e.partition("=")[::2] for e in service["Environment"])
    assert environment["PGPASSFILE"].startswith("/")


# -- the Containerfile -----------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    out = []
    for line in _logical_lines(CONTAINERFILE.read_text()):
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stages.append([])
        assert stages, "an instruction before FROM"
        stages[-1].append((keyword, rest))
    return stages


def test_the_containerfile_builds_on_a_supported_python() -> None:
    low = tuple(int(n) for n in re.findall(r"\d+", PYPROJECT["project"]["requires-python"]))
    for stage in _stages():
        image = stage[0][1].split()[0]
        found = re.fullmatch(r"(?:docker\.io/library/)?python:(\d+)\.(\d+)-slim(-\w+)?", image)
        assert found, f"not a slim Python base image: {image}"
        assert (int(found[1]), int(found[2])) >= low


def test_the_containerfile_installs_the_extras_the_worker_needs() -> None:
    installs = [
        rest for keyword, rest in _instructions() if keyword == "RUN" and " install " in rest
    ]
    (install,) = [shlex.split(r) for r in installs if "pip" in r]
    pip = install[0]
    assert pip.endswith("/bin/pip"), install
    (target,) = [w for w in install[install.index("install") + 1 :] if not w.startswith("-")]
    found = re.fullmatch(r"\.\[([\w,]+)\]", target)
    assert found, f"pip installs {target!r}, not the project with extras"
    assert set(WORKER_EXTRAS) <= set(found[1].split(","))
    optional = PYPROJECT["project"]["optional-dependencies"]
    for extra, module in WORKER_EXTRAS.items():
        assert any(dep.startswith(module) for dep in optional[extra]), (extra, module)
    for keyword, rest in _instructions():
        if keyword == "COPY" and not rest.startswith("--from"):
            for source in shlex.split(rest)[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    # The environment pip installed into is copied into the last stage and on its PATH.
    venv = pip.removesuffix("/bin/pip")
    last = _stages()[-1]
    assert ("COPY", f"--from=build {venv} {venv}") in last
    env = " ".join(rest for keyword, rest in last if keyword == "ENV")
    assert f"PATH={venv}/bin:" in env


def test_the_container_runs_the_worker_as_a_non_root_user() -> None:
    last = dict(_stages()[-1])
    user = last["USER"].split(":")[0]
    assert user.isdigit(), "a numeric user: runAsNonRoot can check it"
    assert int(user) != 0
    entrypoint = json.loads(last["ENTRYPOINT"])
    assert entrypoint == ["registration-fsm", "worker"]
    assert entrypoint[0] in PYPROJECT["project"]["scripts"]
    assert last.get("STOPSIGNAL", "SIGTERM") == "SIGTERM"
    assert "HEALTHCHECK" not in last


# -- Kubernetes ------------------------------------------------------------------------


def _documents() -> dict[str, dict[str, Any]]:
    yaml = pytest.importorskip("yaml", reason="PyYAML (installed with mkdocs, the dev extra)")
    documents = [d for d in yaml.safe_load_all(KUBERNETES.read_text()) if d is not None]
    kinds = [d["kind"] for d in documents]
    assert sorted(kinds) == ["ConfigMap", "Deployment", "ServiceAccount"]
    return {d["kind"]: d for d in documents}


def _fleet(documents: dict[str, dict[str, Any]]) -> FleetConfig:
    text = documents["ConfigMap"]["data"]["fleet.toml"]
    return FleetConfig.from_mapping(tomllib.loads(text), "the ConfigMap's fleet.toml")


def test_the_kubernetes_fleet_file_is_a_fleet_file() -> None:
    fleet = _fleet(_documents())
    assert all(config.role_arn for config in fleet.shards), "pods assume each shard's role"


def test_the_kubernetes_deployment_runs_workers_from_the_configmap_and_the_secret() -> None:
    documents = _documents()
    deployment = documents["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pod["serviceAccountName"] == documents["ServiceAccount"]["metadata"]["name"]
    (container,) = pod["containers"]
    args = _worker_args(["worker", *container["args"]])
    # --fleet is the ConfigMap's key, mounted.
    (mount,) = container["volumeMounts"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == documents["ConfigMap"]["metadata"]["name"]
    directory, _, key = args["--fleet"].rpartition("/")
    assert directory == mount["mountPath"]
    assert key in documents["ConfigMap"]["data"]
    # --store is $(VAR), VAR from a Secret; the password from the Secret too, not argv.
    env = {e["name"]: e for e in container["env"]}
    variable = re.fullmatch(r"\$\((\w+)\)", args["--store"])
    assert variable, "the store URL comes from the environment"
    assert "secretKeyRef" in env[variable[1]]["valueFrom"]
    assert "secretKeyRef" in env["PGPASSWORD"]["valueFrom"]
    # replicas x slots: no more than the shards (more would only poll).
    slots = int(args.get("--slots", "1"))
    assert deployment["spec"]["replicas"] * slots <= len(_fleet(documents).shards)


def test_the_kubernetes_workers_stop_gracefully_and_no_probe_kills_them() -> None:
    documents = _documents()
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    lease = _fleet(documents).defaults.lease_seconds
    assert pod["terminationGracePeriodSeconds"] > lease
    assert "livenessProbe" not in container
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    user = dict(_stages()[-1])["USER"].split(":")[0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(user)  # the Containerfile's USER
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


# -- the command line ----------------------------------------------------------------


def test_the_files_use_only_options_the_worker_command_has() -> None:
    command = cli.commands.get("worker")
    if command is None:
        pytest.skip("the CLI has no worker command yet")
    known = {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}
    (exec_start,) = _unit()["Service"]["ExecStart"]
    used = set(_worker_args(shlex.split(exec_start)))
    yaml = pytest.importorskip("yaml", reason="PyYAML (installed with mkdocs, the dev extra)")
    for document in yaml.safe_load_all(KUBERNETES.read_text()):
        if document and document["kind"] == "Deployment":
            (container,) = document["spec"]["template"]["spec"]["containers"]
            used |= set(_worker_args(["worker", *container["args"]]))
    assert used <= known, f"options the worker command lacks: {sorted(used - known)}"
