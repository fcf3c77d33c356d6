"""Every payload the platform hands Temporal is encrypted (AES-256-GCM), so learners' names, ID
numbers and phones never sit in clear in Temporal's database, its history exports or its Web UI.

The key ring comes from the settings (XUEJIA_CODEC_KEYS): `id:base64key,id:base64key,…`, the
first key encrypts and every key decrypts. Rotation is adding a new key in front and keeping
the old ones, which still open what they sealed. Each encrypted payload names its key in its
metadata; the key id is also the cipher's associated data, so a payload cannot be moved to
another key's name. A payload without the encrypted encoding (journeys and histories recorded
before the codec) passes through decoding unchanged.

What is sealed is the serialized payload, deflated first when that makes it shorter (a flag
byte inside the ciphertext says which), and a payload holding nothing (None, `binary/null`)
is left as it is: sealing costs ~90 bytes a payload, and a journey's history keeps within its
footprint bound (issue 9) only so. Lengths stay visible, as with any encryption, and deflating
makes them depend on content; but whoever can put chosen text next to a learner's data in a
journey (the learner, their school, which sees it whole) already knows that data.

`data_converter(settings)` is the one converter every client of the platform uses (API,
worker, scripts, tests, bench): built here, nowhere else.
"""

import base64
import binascii
import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from core.config import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
NOTHING = b"binary/null"
STORED, DEFLATED = b"\x00", b"\x01"  # the sealed payload's first byte
_KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class CodecError(ValueError):
    """A payload the key ring cannot open: its key is not in the ring, or it was altered."""


@dataclass(frozen=True)
class KeyRing:
    current: str
    keys: dict[str, AESGCM]

    @classmethod
    def parse(cls, text: str) -> "KeyRing":
        """`id:base64key,id:base64key,…`; the first encrypts. A malformed ring names the entry."""
        keys: dict[str, AESGCM] = {}
        for n, entry in enumerate(text.split(","), start=1):
            key_id, colon, encoded = entry.strip().partition(":")
            if not colon or not _KEY_ID_PATTERN.fullmatch(key_id) or key_id in keys:
                raise ValueError(f"XUEJIA_CODEC_KEYS entry {n}: expected a unique id:base64key")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"XUEJIA_CODEC_KEYS key {key_id!r} is not base64") from exc
            if len(raw) != KEY_BYTES:
                raise ValueError(f"XUEJIA_CODEC_KEYS key {key_id!r} must be {KEY_BYTES} bytes")
            keys[key_id] = AESGCM(raw)
        return cls(current=next(iter(keys)), keys=keys)


class EncryptionCodec(PayloadCodec):
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """The whole payload (its metadata too: the type and encoding) sealed under the current
        key, with a fresh random nonce in front of the ciphertext."""
        if payload.metadata.get("encoding") == NOTHING and not payload.data:
            return payload
        key_id = self._ring.current
        clear = payload.SerializeToString()
        deflated = zlib.compress(clear)
        packed = DEFLATED + deflated if len(deflated) < len(clear) else STORED + clear
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ring.keys[key_id].encrypt(nonce, packed, key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec: in clear
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        key = self._ring.keys.get(key_id)
        if key is None:
            raise CodecError(
                f"payload encrypted with key id {key_id!r}, which XUEJIA_CODEC_KEYS does not "
                "hold (keep every older key in the ring after a rotation)"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            packed = key.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag as exc:
            raise CodecError(f"payload under key id {key_id!r} was altered or is corrupt") from exc
        flag, body = packed[:1], packed[1:]
        return Payload.FromString(zlib.decompress(body) if flag == DEFLATED else body)


def codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(KeyRing.parse(settings.codec_keys))


def data_converter(settings: Settings) -> DataConverter:
    """Payloads encrypted, and failures' messages and stack traces moved into an encrypted
    payload too (they can quote what a learner typed)."""
    return DataConverter(
        payload_codec=codec(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
