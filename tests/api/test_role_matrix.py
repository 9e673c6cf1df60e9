"""Every route declares who may call it; walk the whole role x route matrix with real logins."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from conftest import bearer
from trafficgov.accounts.model import Role

GUARD_REASON = "您的角色无权访问此功能"


def declared_roles(route: APIRoute):
    found = []

    def walk(dependant):
        for dep in dependant.dependencies:
            if hasattr(dep.call, "allowed_roles"):
                found.append(dep.call)
            walk(dep)

    walk(route.dependant)
    return found


def api_routes(app) -> list[APIRoute]:
    """Every APIRoute of the app, through FastAPI's included-router wrappers (prefixes already applied)."""
    found: list[APIRoute] = []

    def walk(routes, prefix: str) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route if not prefix else _prefixed(route, prefix))
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))

    walk(app.routes, "")
    return found


def _prefixed(route: APIRoute, prefix: str) -> APIRoute:
    raise AssertionError(f"include_router(prefix=...) is not used in this app: {prefix}{route.path}")


def sample_path(path: str, samples: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: samples.get(m.group(1), "1"), path)


@pytest.fixture
def samples(accounts) -> dict[str, str]:
    return {
        "id_number": accounts["citizen"]["id_number"],
        "uscc": accounts["company"]["uscc"],
        "vin": "LVSFKAML4GF423558",
        "kind": "people",
        "job_id": "1",
        "correction_id": "1",
        "entity": "people",
        "key": accounts["citizen"]["id_number"],
    }


def test_every_route_declares_who_may_call_it(client):
    missing = [f"{sorted(r.methods)} {r.path}" for r in api_routes(client.app) if len(declared_roles(r)) != 1]
    assert missing == []


def test_role_by_route_matrix(client, tokens, samples):
    checked = 0
    for route in api_routes(client.app):
        guard = declared_roles(route)[0]
        if guard.allowed_roles == "public" or not route.path.startswith("/api/"):
            continue
        method = sorted(route.methods - {"HEAD"})[0]
        url = sample_path(route.path, samples)
        anonymous = client.request(method, url)
        assert anonymous.status_code == 401, (method, url, anonymous.status_code)
        for role in Role:
            response = client.request(method, url, headers=bearer(tokens[str(role)]))
            if role in guard.allowed_roles:
                assert response.status_code != 401, (role, method, url)
                if response.status_code == 403:  # refused by the record's scope, not by the role guard
                    assert GUARD_REASON not in response.text, (role, method, url)
            else:
                assert response.status_code == 403, (role, method, url, response.status_code)
                assert GUARD_REASON in response.text
            checked += 1
    assert checked >= 9 * 15


def test_pages_redirect_anonymous_visitors_to_login_and_refuse_wrong_roles(client, tokens):
    for route in api_routes(client.app):
        guard = declared_roles(route)[0]
        if route.path.startswith("/api/") or guard.allowed_roles == "public" or "GET" not in route.methods or "{" in route.path:
            continue
        response = client.get(route.path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), route.path
        for role in Role:
            if role not in guard.allowed_roles:
                refused = client.get(route.path, headers=bearer(tokens[str(role)]), follow_redirects=False)
                assert refused.status_code == 403, (route.path, role)
