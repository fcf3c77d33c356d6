"""The payload codec (core/codec.py): sealed, rotatable, refusing what it cannot open."""

import base64
import os

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from core.codec import ENCODING, KEY_ID, CodecError, EncryptionCodec, KeyRing, data_converter
from core.config import DEMO_CODEC_KEYS, Settings
from tests.factories import VALID_ID, journey_input, production_secrets

KEYS = {name: base64.b64encode(os.urandom(32)).decode() for name in ("k1", "k2")}


def ring(*ids: str) -> str:
    """A ring of this module's keys named `ids`, the first one current."""
    return ",".join(f"{i}:{KEYS[i]}" for i in ids)


def codec(text: str) -> EncryptionCodec:
    return EncryptionCodec(KeyRing.parse(text))


def settings(keys: str) -> Settings:
    return Settings(demo_mode=True, codec_keys=keys)


async def test_input_is_sealed_under_the_current_key_and_opens_again() -> None:
    converter = data_converter(settings(ring("k1")))
    inp = journey_input()
    [payload] = await converter.encode([inp])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID] == b"k1"
    for clear in ("张三", "13800138000", VALID_ID, "json/plain", "JourneyInput"):
        assert clear.encode() not in payload.SerializeToString()
    assert await converter.decode([payload], [type(inp)]) == [inp]


async def test_rotation_new_key_encrypts_older_keys_still_decrypt() -> None:
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'"13800138000"')
    [old] = await codec(ring("k1")).encode([clear])
    rotated = codec(ring("k2", "k1"))  # a new current key in front, the old one kept
    [new] = await rotated.encode([clear])
    assert new.metadata[KEY_ID] == b"k2"
    assert await rotated.decode([old, new]) == [clear, clear]


async def test_a_key_dropped_from_the_ring_is_a_clear_error() -> None:
    [sealed] = await codec(ring("k1")).encode([Payload(data=b"x")])
    with pytest.raises(CodecError, match=r"key id 'k1'.*does not hold"):
        await codec(ring("k2")).decode([sealed])


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "key id"])
async def test_tampered_payload_is_refused(where: str) -> None:
    both = codec(ring("k1", "k2"))
    [sealed] = await both.encode([Payload(data=b'"13800138000"')])
    data = bytearray(sealed.data)
    if where == "nonce":
        data[0] ^= 1
    elif where == "ciphertext":
        data[-1] ^= 1
    sealed.data = bytes(data)
    if where == "key id":  # sealed under k1, relabelled as k2's: the associated data differs
        sealed.metadata[KEY_ID] = b"k2"
    with pytest.raises(CodecError, match="altered"):
        await both.decode([sealed])


async def test_payloads_written_before_the_codec_pass_through() -> None:
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'{"name": "\\u5f20\\u4e09"}')
    assert await codec(ring("k1")).decode([clear]) == [clear]


async def test_nothing_is_left_as_it_is_and_a_long_payload_is_deflated() -> None:
    """None has nothing to hide; a payload is deflated before sealing when that is shorter."""
    converter = data_converter(settings(ring("k1")))
    [nothing] = await converter.encode([None])
    assert nothing.metadata["encoding"] == b"binary/null" and nothing.data == b""
    long = "科目二 " * 500
    [sealed] = await converter.encode([long])
    assert sealed.metadata["encoding"] == ENCODING and len(sealed.data) < len(long) // 10
    assert await converter.decode([nothing, sealed], [type(None), str]) == [None, long]


async def test_failure_message_and_stack_trace_are_sealed() -> None:
    converter = data_converter(settings(ring("k1")))
    failure = Failure()
    try:
        raise ApplicationError("姓名 张三 与身份证号不符")
    except ApplicationError as err:
        converter.failure_converter.to_failure(err, converter.payload_converter, failure)
    await converter.payload_codec.encode_failure(failure)  # type: ignore[union-attr]
    assert "张三".encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure"
    await converter.payload_codec.decode_failure(failure)  # type: ignore[union-attr]
    back = converter.failure_converter.from_failure(failure, converter.payload_converter)
    assert "张三" in str(back)


@pytest.mark.parametrize(
    "keys, complaint",
    [
        ("k1", "unique id:base64key"),
        (f"k1:{KEYS['k1']},k1:{KEYS['k2']}", "unique id:base64key"),
        ("k1:not base64!", "not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
    ],
    ids=["no key", "id twice", "not base64", "short key"],  # stable across xdist's workers
)
def test_malformed_ring_names_what_is_wrong(keys: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        KeyRing.parse(keys)


def test_demo_keys_refused_outside_demo_mode() -> None:
    secrets = production_secrets()
    del secrets["codec_keys"]
    with pytest.raises(ValidationError, match="XUEJIA_CODEC_KEYS must be set"):
        Settings(demo_mode=False, codec_keys=DEMO_CODEC_KEYS, **secrets)
    Settings(demo_mode=False, codec_keys=ring("k1"), **secrets)
