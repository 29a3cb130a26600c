"""The users plugin's part of the OpenAPI document."""

from __future__ import annotations

from eventonight.hooks.http import JWKS, components_for, error_responses, json_body, multipart_file_body
from eventonight_users.presentation.schemas import LoginBody, PasswordBody, RefreshBody, RegisterBody, UpdateBody

TAG = "users"


def _ok(schema_ref: str, status: str = "200", description: str = "ok") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}}


USER_ID = {"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}}
SECURED = [{"bearer": []}]

SCHEMAS = {
    "TokenPair": {
        "type": "object",
        "required": ["accessToken", "refreshToken", "tokenType", "expiresIn", "user"],
        "properties": {
            "accessToken": {"type": "string"},
            "refreshToken": {"type": "string"},
            "tokenType": {"const": "Bearer"},
            "expiresIn": {"type": "integer"},
            "user": {"$ref": "#/components/schemas/User"},
        },
    },
    "RefreshedTokens": {
        "type": "object",
        "description": "A refresh touches no account data: the same tokens without the user.",
        "required": ["accessToken", "refreshToken", "tokenType", "expiresIn"],
        "properties": {
            "accessToken": {"type": "string"},
            "refreshToken": {"type": "string"},
            "tokenType": {"const": "Bearer"},
            "expiresIn": {"type": "integer"},
        },
    },
    "User": {
        "type": "object",
        "description": "The owner sees every account field; others see the public view (username only).",
        "required": ["id", "role", "account", "profile"],
        "properties": {
            "id": {"type": "string"},
            "role": {"enum": ["member", "organization"]},
            "account": {
                "type": "object",
                "properties": {
                    "username": {"type": "string"},
                    "email": {"type": "string"},
                    "darkMode": {"type": "boolean"},
                    "language": {"type": "string"},
                    "gender": {"type": ["string", "null"]},
                    "birthDate": {"type": ["string", "null"], "format": "date"},
                    "interests": {"type": "array", "items": {"type": "string"}},
                },
            },
            "profile": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "avatarUrl": {"type": ["string", "null"]},
                    "bio": {"type": "string"},
                    "contacts": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "UserPage": {
        "type": "object",
        "required": ["items", "limit", "offset", "total", "hasMore"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "total": {"type": "integer"},
            "hasMore": {"type": "boolean"},
        },
    },
}


def fragment() -> dict:
    components = components_for(RegisterBody, LoginBody, RefreshBody, UpdateBody, PasswordBody)
    components["schemas"].update(SCHEMAS)
    tokens = _ok("#/components/schemas/TokenPair")
    user = _ok("#/components/schemas/User")
    no_content = {"204": {"description": "done"}}
    return {
        "tags": [{"name": TAG, "description": "Accounts, profiles and authentication"}],
        "components": components,
        "paths": {
            "/api/users/register": {
                "post": {
                    "tags": [TAG],
                    "summary": "Register a member or organization",
                    "security": [],
                    "requestBody": json_body(RegisterBody),
                    "responses": {
                        **_ok("#/components/schemas/TokenPair", "201", "registered"),
                        **error_responses(400, 409, 415, 429),
                    },
                }
            },
            "/api/users/login": {
                "post": {
                    "tags": [TAG],
                    "summary": "Log in with username or email",
                    "security": [],
                    "requestBody": json_body(LoginBody),
                    "responses": {**tokens, **error_responses(400, 401, 429)},
                }
            },
            "/api/users/refresh": {
                "post": {
                    "tags": [TAG],
                    "summary": "Rotate a refresh token; a reused one revokes its session",
                    "security": [],
                    "requestBody": json_body(RefreshBody),
                    "responses": {**_ok("#/components/schemas/RefreshedTokens"), **error_responses(400, 401, 429)},
                }
            },
            "/api/users/logout": {
                "post": {
                    "tags": [TAG],
                    "summary": "Revoke the login session of a refresh token",
                    "security": [],
                    "requestBody": json_body(RefreshBody),
                    "responses": {**no_content, **error_responses(400, 401)},
                }
            },
            "/api/users/public-keys": {
                "get": {
                    "tags": [TAG],
                    "summary": "JSON Web Key Set verifying access tokens",
                    "security": [],
                    "responses": {"200": {"description": "JWKS", "content": {"application/json": {"schema": JWKS}}}},
                }
            },
            "/api/users/search": {
                "get": {
                    "tags": [TAG],
                    "summary": "Search users by name or username prefix",
                    "parameters": [
                        {"name": "prefix", "in": "query", "schema": {"type": "string"}},
                        {"name": "role", "in": "query", "schema": {"enum": ["member", "organization"]}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20}},
                        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    ],
                    "responses": {**_ok("#/components/schemas/UserPage"), **error_responses(400)},
                }
            },
            "/api/users/{userId}": {
                "parameters": [USER_ID],
                "get": {
                    "tags": [TAG],
                    "summary": "A user (full view for the owner)",
                    "responses": {**user, **error_responses(404)},
                },
                "put": {
                    "tags": [TAG],
                    "summary": "Update account settings and profile (owner)",
                    "security": SECURED,
                    "requestBody": json_body(UpdateBody),
                    "responses": {**user, **error_responses(400, 401, 403, 404, 409)},
                },
                "delete": {
                    "tags": [TAG],
                    "summary": "Delete the account (owner)",
                    "security": SECURED,
                    "responses": {**no_content, **error_responses(401, 403, 404)},
                },
            },
            "/api/users/{userId}/password": {
                "parameters": [USER_ID],
                "put": {
                    "tags": [TAG],
                    "summary": "Change password; other sessions are revoked (owner)",
                    "security": SECURED,
                    "requestBody": json_body(PasswordBody),
                    "responses": {**no_content, **error_responses(400, 401, 403)},
                },
            },
            "/api/users/{userId}/avatar": {
                "parameters": [USER_ID],
                "post": {
                    "tags": [TAG],
                    "summary": "Upload the avatar (multipart, one image; needs the media plugin)",
                    "security": SECURED,
                    "requestBody": multipart_file_body(),
                    "responses": {**user, **error_responses(400, 401, 403, 404, 413, 415, 501)},
                },
                "delete": {
                    "tags": [TAG],
                    "summary": "Remove the avatar (owner; needs the media plugin)",
                    "security": SECURED,
                    "responses": {**no_content, **error_responses(401, 403, 404, 501)},
                },
            },
        },
    }
