"""The whole HTTP API, fuzzed by schemathesis (pinned in pyproject's test extra) over real HTTP: as a
site admin and with no token, no answer is a 5xx and every answer -- error bodies included -- matches
``/openapi.json`` (status, content type, body); a method a path does not have is a 405 whose
``Allow`` lists exactly the methods it has.

The budget is bounded: a few valid and a few invalid requests per operation, derandomized, so the
run is short and the same on every machine; they are made once and sent by both callers. Every failure
is collected, then reported together.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.server import InProcessFloe, bootstrap_token, running_floe_in_process

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 2  # per operation and generation mode
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def fuzzed_floe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFloe]:
    """A server whose storage calls cannot leave the machine (no internal networks allowed, short
    timeouts), so generated endpoint URLs fail fast."""
    env = {
        "FLOE_ALLOWED_ENDPOINT_NETWORKS": "",
        "FLOE_STORAGE_CONNECT_TIMEOUT": "2",
        "FLOE_STORAGE_READ_TIMEOUT": "2",
    }
    with running_floe_in_process(Path(tmp_path_factory.mktemp("fuzz")), env=env) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(fuzzed_floe: InProcessFloe) -> schemathesis.BaseSchema:
    config = SchemathesisConfig()
    config.projects.default.update(base_url=fuzzed_floe.url, request_timeout=30)
    return schemathesis.openapi.from_url(f"{fuzzed_floe.url}/openapi.json", config=config)


def _collector(strategy: Any, cases: list[tuple[str, Any]], label: str) -> Any:
    """A hypothesis run that keeps the cases it is given, under ``label``."""

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Any) -> None:
        cases.append((label, case))

    return collect


@pytest.fixture(scope="module")
def generated(api_schema: schemathesis.BaseSchema) -> list[tuple[str, Any]]:
    """The requests to send, made once for both callers: a few valid and a few invalid per operation
    (derandomized, so the same on every run), as (operation and mode, case)."""
    cases: list[tuple[str, Any]] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            collect = _collector(
                operation.as_strategy(generation_mode=mode), cases, f"{operation.label} ({mode.value})"
            )
            try:
                collect()
            except Unsatisfiable:  # nothing to make invalid: an operation with only free-text paths
                continue
    return cases


def _fuzz(cases: list[tuple[str, Any]], headers: dict[str, str]) -> tuple[int, list[str]]:
    """Send every case; (requests sent, one line per failing operation and mode)."""
    failures: dict[str, str] = {}
    for label, case in cases:
        if label in failures:  # one failure per operation and mode is enough to report
            continue
        try:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
        except Exception as exc:  # collected, reported at the end
            first = str(exc).strip().splitlines()
            failures[label] = f"{label}: {' | '.join(first[:6])[:600]}"
    return len(cases), list(failures.values())


def _undeclared_methods(schema: schemathesis.BaseSchema, url: str, headers: dict[str, str]) -> list[str]:
    """Each path with a method it lacks: a 405 whose Allow header lists exactly its methods."""
    wrong: list[str] = []
    raw = schema.raw_schema
    with httpx.Client(base_url=url, headers=headers, timeout=30, trust_env=False) as http:
        for path, item in raw["paths"].items():
            declared = {m for m in item if m in METHODS}
            missing = sorted(METHODS - declared)
            if not missing or "{" in path:  # templated paths: a made-up id may be a 404 first
                continue
            response = http.request(missing[0].upper(), path)
            allowed = {m.strip().lower() for m in response.headers.get("allow", "").split(",") if m.strip()}
            if response.status_code != 405 or allowed - {"head"} != declared:
                wrong.append(f"{missing[0].upper()} {path}: {response.status_code}, Allow {sorted(allowed)}")
    return wrong


def test_api_as_site_admin(api_schema, generated, fuzzed_floe: InProcessFloe) -> None:
    headers = {"authorization": f"Bearer {bootstrap_token(fuzzed_floe)}"}
    sent, failures = _fuzz(generated, headers)
    print(f"schemathesis as a site admin: {sent} requests, {len(failures)} failing operations")
    assert not failures, "\n".join(failures)
    assert not _undeclared_methods(api_schema, fuzzed_floe.url, headers)


def test_api_without_a_token(api_schema, generated, fuzzed_floe: InProcessFloe) -> None:
    sent, failures = _fuzz(generated, {})
    print(f"schemathesis without a token: {sent} requests, {len(failures)} failing operations")
    assert not failures, "\n".join(failures)
    assert not _undeclared_methods(api_schema, fuzzed_floe.url, {})
