"""Ticket codes a scanner verifies offline: ``ETN1.<payload>.<signature>``, Ed25519-signed.

The payload (base64url JSON) names the ticket ``t``, event ``e``, type ``y``,
secret revision ``r`` and key id ``k``; the signature (base64url) covers the
text ``ETN1.<payload>``. With the public keys (``GET /api/ticketing/keys``) and
the event's revocation list, a scanner checks a code with no server.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "ETN1"
MAX_CODE_LENGTH = 512


class BadCode(ValueError):
    """Not a code we signed: malformed, unknown key or wrong signature."""


@dataclass(frozen=True)
class TicketCode:
    ticket_id: str
    event_id: str
    type_id: str
    secret_rev: int
    kid: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(code: TicketCode, key: Ed25519PrivateKey) -> str:
    payload = {"t": code.ticket_id, "e": code.event_id, "y": code.type_id, "r": code.secret_rev, "k": code.kid}
    signed = f"{PREFIX}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
    return f"{signed}.{_b64(key.sign(signed.encode()))}"


def verify(text: str, public_keys: dict[str, Ed25519PublicKey]) -> TicketCode:
    """The code's contents if ``text`` is a code signed by one of ``public_keys``; else :class:`BadCode`."""
    if not isinstance(text, str) or len(text) > MAX_CODE_LENGTH or text.count(".") != 2:
        raise BadCode("not a ticket code")
    prefix, payload_text, signature_text = text.split(".")
    try:
        payload = json.loads(_unb64(payload_text))
        signature = _unb64(signature_text)
        code = TicketCode(str(payload["t"]), str(payload["e"]), str(payload["y"]), int(payload["r"]), str(payload["k"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BadCode("not a ticket code") from exc
    key = public_keys.get(code.kid)
    if prefix != PREFIX or key is None:
        raise BadCode("unknown code format or signing key")
    try:
        key.verify(signature, f"{prefix}.{payload_text}".encode())
    except InvalidSignature as exc:
        raise BadCode("the signature does not match") from exc
    return code


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": "EdDSA",
            "x": _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))}  # fmt: skip
