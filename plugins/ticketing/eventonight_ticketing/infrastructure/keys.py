"""The Ed25519 keys that sign ticket codes, kept in ``ticketing_keys``.

Created on first start; ``eventonight ticketing keys rotate`` adds a new
signing key. Retired keys stay published: codes they signed stay valid. The
private keys are stored encrypted with the platform's key-encryption keys
(``kernel.secrets``), like the kernel's token keys: reading the database is not
enough to forge tickets. ``rekey`` re-encrypts them after a new KEK.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_der_private_key

KEYS = "ticketing_keys"


class TicketKeys:
    def __init__(self, read, secrets) -> None:
        self._collection = read.collection(KEYS)
        self.secrets = secrets
        self.signing: tuple[str, Ed25519PrivateKey] | None = None
        self.public: dict[str, Ed25519PublicKey] = {}

    async def load(self) -> None:
        """Read the keys (creating the first one); the newest signs."""
        docs = await self._collection.find().sort("created_at", 1).to_list(None)
        if not docs:
            await self.rotate()
            return
        for doc in docs:
            if "private" in doc:  # stored in clear by an earlier version
                doc["private_encrypted"] = self.secrets.encrypt(base64.b64decode(doc["private"]))
                await self._collection.update_one(
                    {"_id": doc["_id"]},
                    {"$set": {"private_encrypted": doc["private_encrypted"]}, "$unset": {"private": ""}},
                )
        keys = {d["_id"]: load_der_private_key(self.secrets.decrypt(d["private_encrypted"]), None) for d in docs}
        self.public = {kid: key.public_key() for kid, key in keys.items()}
        newest = docs[-1]["_id"]
        self.signing = (newest, keys[newest])

    async def rotate(self) -> str:
        key = Ed25519PrivateKey.generate()
        der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        kid = uuid4().hex[:16]
        await self._collection.insert_one(
            {"_id": kid, "private_encrypted": self.secrets.encrypt(der), "created_at": datetime.now(UTC)}
        )
        await self.load()
        return kid

    async def rekey(self) -> int:
        docs = await self._collection.find({"private_encrypted": {"$exists": True}}).to_list(None)
        for doc in docs:
            await self._collection.update_one(
                {"_id": doc["_id"]}, {"$set": {"private_encrypted": self.secrets.rekey(doc["private_encrypted"])}}
            )
        return len(docs)
