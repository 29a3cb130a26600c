"""The served OpenAPI document is complete and true (issue 14): every operation declares its
security and a success body, and what it declares about tokens is what the server does."""

import re
from uuid import uuid4

from eventonight.kernel.http.openapi import BEARER, METHODS

# Media types answered as files rather than JSON.
FILES = ("application/pdf", "text/event-stream", "image/jpeg", "text/html", "text/css")


async def _document(p) -> dict:
    return await (await p.client.get("/api/openapi.json")).json()


def _operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _url(document, path: str, method: str) -> str:
    """The path with a value for each parameter: its first allowed value, or an id that names nothing."""
    item = document["paths"][path]
    declared = {q["name"]: q for q in item.get("parameters", []) + item[method].get("parameters", [])}

    def value(match) -> str:
        schema = declared.get(match.group(1), {}).get("schema", {})
        return str(schema["enum"][0]) if "enum" in schema else uuid4().hex

    return re.sub(r"\{([^}]+)\}", value, path)


async def test_every_operation_declares_security_a_success_body_and_the_shared_errors(platform):
    p = await platform()
    document = await _document(p)
    operations = list(_operations(document))
    assert len(operations) >= 100
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert "security" in operation, where
        responses = operation["responses"]
        successes = {s: r for s, r in responses.items() if s.startswith("2")}
        assert successes, where
        for status, response in successes.items():
            if status == "204":
                assert "content" not in response, where
                continue
            content = response.get("content", {})
            assert content, f"{where} {status} documents no body"
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                assert schema.get("type") == "object" or "$ref" in schema, f"{where}: {schema}"
            else:
                assert any(t in content for t in FILES), where
        assert "400" in responses, where
        for status, response in responses.items():
            if "400" <= status < "500":  # (503 of /ready reports which check failed)
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        if operation["security"]:
            assert "401" in responses, where
        if "{" in path:
            assert "404" in responses, where
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), where
    refresh = document["paths"]["/api/users/refresh"]["post"]["responses"]["200"]
    refreshed = refresh["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "user" not in document["components"]["schemas"][refreshed]["required"], "a refresh returns no user"


async def test_what_the_document_says_about_tokens_is_what_the_server_does(platform):
    p = await platform()
    document = await _document(p)
    wrong = []
    for path, method, operation in _operations(document):
        if path.endswith("/stream"):
            continue
        response = await p.client.request(method.upper(), _url(document, path, method))
        required = operation["security"] == BEARER
        if required and response.status != 401:
            wrong.append(f"{method.upper()} {path}: requires a token but answered {response.status} without")
        if not required and response.status == 401:
            wrong.append(f"{method.upper()} {path}: documented as open to guests but answered 401")
    assert not wrong, "\n".join(wrong)
