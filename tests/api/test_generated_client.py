"""A client generated from the live `/openapi.json` types every answer of the README's
HTTP tour: datamodel-code-generator makes pydantic models of the document, the tour's
`curl` calls are sent as the README writes them, and each answer must be an instance of
the model its operation declares for its status, with no field the model does not know."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from dangol.domain import commands as cmd
from dangol.service.container import Services
from dangol.service.programs import Scope

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://testserver"


def generated_models(document: dict[str, Any], folder: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    source, target = folder / "openapi.json", folder / "dangol_models.py"
    source.write_text(json.dumps(document))
    subprocess.run([sys.executable, "-m", "datamodel_code_generator", "--input", str(source),
                    "--input-file-type", "openapi", "--output-model-type", "pydantic_v2.BaseModel",
                    "--formatters", "builtin", "--disable-timestamp", "--output", str(target)],
                   check=True, capture_output=True, timeout=120)
    spec = importlib.util.spec_from_file_location("dangol_models", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # pydantic looks its generic models up there
    spec.loader.exec_module(module)
    return module


def tour_commands() -> list[str]:
    """The shell lines of the README's "Over HTTP" tour in order, continuation lines
    joined: its bash blocks, and the `curl …` it quotes in its text."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Over HTTP", 1)[1].split("\n### ", 1)[0]
    lines = []
    for block, quoted in re.findall(r"```bash\n(.*?)```|`(curl [^`]*)`", section, flags=re.DOTALL):
        lines += block.replace("\\\n", " ").splitlines() if block else [quoted]
    return [line.strip() for line in lines if line.strip()]


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), text)


def jq_path(value: Any, path: str) -> Any:
    for name in path.strip(".").split("."):
        value = value[name]
    return value


def send(client: TestClient, command: str) -> Any:
    """One `curl` of the tour, as written: method, URL, headers and body."""
    words = shlex.split(command)
    assert words[0] == "curl", command
    method, url, headers, body = "GET", None, {}, None
    words = iter(words[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(words)
        elif not word.startswith("-"):
            url = word
    assert url is not None, command
    return client.request(method, url, headers=headers, content=body)


def operation_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The operation whose path template matches: literal segments before parameters."""
    found = [(template.count("{"), item[method.lower()]) for template, item in document["paths"].items()
             if method.lower() in item and re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path)]
    assert found, (method, path)
    return min(found, key=lambda f: f[0])[1]


def undeclared(sent: Any, typed: Any, where: str = "") -> list[str]:
    """Fields of the answer that did not survive typing: what the model does not declare."""
    if isinstance(sent, dict):
        missing = [f"{where}.{name}" for name in sent if not isinstance(typed, dict) or name not in typed]
        return missing + [p for name, value in sent.items() if isinstance(typed, dict) and name in typed
                          for p in undeclared(value, typed[name], f"{where}.{name}")]
    if isinstance(sent, list):
        return [p for i, value in enumerate(sent) for p in undeclared(value, typed[i], f"{where}[{i}]")]
    return []


def typed_answer(models: ModuleType, document: dict[str, Any], response: Any) -> BaseModel:
    operation = operation_of(document, response.request.method, response.request.url.path)
    declared = operation["responses"][str(response.status_code)]["content"]
    media = response.headers["content-type"].split(";")[0]
    reference = declared[media]["schema"]["$ref"]
    model: type[BaseModel] = getattr(models, reference.rsplit("/", 1)[1])
    body = response.json()
    instance = model.model_validate(body)
    assert undeclared(body, instance.model_dump(mode="json", by_alias=True, exclude_unset=True)) == [], model
    return instance


def test_a_generated_client_types_every_answer_of_the_readme_tour(client: TestClient, services: Services,
                                                                  program_id: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    document = client.get("/openapi.json").json()
    models = generated_models(document, tmp_path, monkeypatch)
    # What `make run` prints: a read/write key of program market.
    token = services.programs.create_api_key(program_id, {Scope.READ, Scope.WRITE}, "make run")[1]
    services.ledger.run(program_id, cmd.Enroll("customer-00001"))  # one of the demo's customers
    variables = {"DANGOL_KEY": token}
    answers: list[tuple[int, str]] = []
    for line in tour_commands():
        line = line.split("  #", 1)[0]
        assigned = re.fullmatch(r"(\w+)=(.*)", line)
        if line.startswith(("export ", "echo ")) or (assigned and not assigned.group(2).startswith("$(curl")):
            if assigned:
                variables[assigned.group(1)] = expand(assigned.group(2).strip('"'), variables)
            continue
        curl = expand(line.removeprefix(f"{assigned.group(1)}=$(" if assigned else ""), variables)
        command, _, pipe = curl.partition(" | ")
        response = send(client, command.replace("http://127.0.0.1:8000", BASE))
        instance = typed_answer(models, document, response)
        answers.append((response.status_code, type(instance).__name__))
        if assigned:  # MEMBER=$(curl … | jq -r .member.id)
            variables[assigned.group(1)] = jq_path(response.json(), pipe.rstrip(")").split()[-1])
    assert answers == [(201, "Enrolled"), (200, "EarnReceipt"), (200, "BalanceOut"), (200, "TransactionReceipt"),
                       (409, "Problem"), (200, "HistoryPage"), (200, "MemberList")]
