"""PKCS#7 padding is checked strictly: a value of 1 to 32 (WeChat pads to 32 bytes, not to
AES's 16), and every padding byte equal to it. Anything else is InvalidPadding, raised
before the length field or the AppID are read."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wechat.crypto import BLOCK_SIZE, InvalidPadding, MessageCrypto

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
APPID = "wx5823bf96d3bd56c7"
HEADER = 16 + 4


def _box() -> MessageCrypto:
    return MessageCrypto("token", KEY, APPID)


def _encrypt_raw(buf: bytes) -> str:
    """AES-CBC over ``buf`` exactly as given: no framing, no padding of ours."""
    key = base64.b64decode(KEY + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(buf) + encryptor.finalize()).decode()


def _framed(msg: bytes) -> bytes:
    return b"r" * 16 + struct.pack(">I", len(msg)) + msg + APPID.encode()


def _message_needing(pad: int) -> bytes:
    """A message whose framed length leaves exactly ``pad`` bytes to the next 32."""
    base = len(_framed(b""))
    return b"m" * ((BLOCK_SIZE - pad - base) % BLOCK_SIZE)


@pytest.mark.parametrize("pad", range(1, BLOCK_SIZE + 1))
def test_every_well_formed_pad_from_1_to_32_is_removed(pad: int) -> None:
    msg = _message_needing(pad)
    buf = _framed(msg) + bytes([pad]) * pad
    assert len(buf) % BLOCK_SIZE == 0
    assert _box().decrypt(_encrypt_raw(buf)) == msg


@pytest.mark.parametrize("value", [48, 64, 96, 128, 240])
def test_a_pad_value_above_32_is_refused_even_when_that_many_bytes_hold_it(value: int) -> None:
    # ``value`` bytes of ``value`` after an intact message and AppID: all-equal, so only
    # the range check refuses it (a lax one strips them and returns the message).
    buf = _framed(_message_needing(BLOCK_SIZE)) + bytes([value]) * value
    with pytest.raises(InvalidPadding):
        _box().decrypt(_encrypt_raw(buf))


def test_a_pad_value_of_0_is_refused() -> None:
    buf = _framed(_message_needing(BLOCK_SIZE)) + bytes(BLOCK_SIZE)
    with pytest.raises(InvalidPadding):
        _box().decrypt(_encrypt_raw(buf))


@pytest.mark.parametrize("pad", [2, 3, 16, 17, 31, 32])
def test_a_pad_with_any_byte_unequal_is_refused(pad: int) -> None:
    msg = _message_needing(pad)
    for position in range(pad - 1):  # the last byte is the value itself
        padding = bytearray([pad]) * pad
        padding[position] ^= 0x01
        buf = _framed(msg) + bytes(padding)
        with pytest.raises(InvalidPadding):
            _box().decrypt(_encrypt_raw(buf))


def test_a_pad_longer_than_the_whole_plaintext_is_refused() -> None:
    # One AES block claiming 32 bytes of padding: refused as padding, not read further.
    with pytest.raises(InvalidPadding):
        _box().decrypt(_encrypt_raw(bytes([32]) * 16))
