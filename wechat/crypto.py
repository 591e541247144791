"""Callback signatures and the AES "safe mode" of WeChat message pushes.

The scheme (docs/wechat.md §1.2-1.5): signatures are the hex SHA-1 of the
lexicographically sorted, concatenated strings; ciphertexts are AES-256-CBC over
``random(16) ‖ len(msg) as 4 bytes big-endian ‖ msg ‖ appid`` with PKCS#7 padding
to 32-byte blocks, key = base64(EncodingAESKey + "="), IV = key[:16].
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CryptoError",
    "InvalidAppId",
    "InvalidKey",
    "InvalidPadding",
    "InvalidSignature",
    "MessageCrypto",
    "check_msg_signature",
    "check_url_signature",
    "decode_aes_key",
    "msg_signature",
    "url_signature",
]

BLOCK_SIZE = 32  # WeChat pads to 32 bytes (the key size), not to the AES block of 16.
RANDOM_PREFIX_BYTES = 16
_LENGTH = struct.Struct(">I")


class CryptoError(Exception):
    """A push could not be authenticated or decrypted."""


class InvalidSignature(CryptoError):
    """The signature does not match the token, timestamp, nonce (and Encrypt)."""


class InvalidAppId(CryptoError):
    """The plaintext trailer names another AppID than ours."""


class InvalidPadding(CryptoError):
    """The decrypted buffer does not end in valid PKCS#7 padding."""


class InvalidKey(CryptoError):
    """The EncodingAESKey is not 43 base64 characters decoding to 32 bytes."""


def _sha1_of_sorted(*parts: str) -> str:
    joined = "".join(sorted(parts)).encode("utf-8")
    # SHA-1 is what the platform signs with; we cannot choose another digest.
    return hashlib.sha1(joined).hexdigest()  # noqa: S324


def url_signature(token: str, timestamp: str, nonce: str) -> str:
    """The ``signature`` query parameter of URL verification and plaintext pushes."""
    return _sha1_of_sorted(token, timestamp, nonce)


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """The ``msg_signature`` of safe-mode pushes and of encrypted replies."""
    return _sha1_of_sorted(token, timestamp, nonce, encrypt)


def _same(expected: str, given: str) -> bool:
    # Bytes, because compare_digest refuses non-ASCII str and a forged value may hold any.
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def check_url_signature(token: str, timestamp: str, nonce: str, signature: str) -> None:
    """Raise InvalidSignature unless ``signature`` signs token, timestamp and nonce."""
    if not _same(url_signature(token, timestamp, nonce), signature):
        raise InvalidSignature("signature does not match")


def check_msg_signature(
    token: str, timestamp: str, nonce: str, encrypt: str, signature: str
) -> None:
    """Raise InvalidSignature unless ``signature`` is the msg_signature of ``encrypt``."""
    if not _same(msg_signature(token, timestamp, nonce, encrypt), signature):
        raise InvalidSignature("msg_signature does not match")


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind an EncodingAESKey, or InvalidKey."""
    if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != 43:
        raise InvalidKey("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKey("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise InvalidKey("EncodingAESKey does not decode to 32 bytes")
    return key


class MessageCrypto:
    """Safe-mode encryption for one (Token, EncodingAESKey, AppID) triple.

    Build one per account and reuse it: the key schedule is prepared once. During a
    key rotation keep one instance per key and try both (protocol §1.6).
    """

    __slots__ = ("_appid", "_cipher", "appid", "token")

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        key = decode_aes_key(encoding_aes_key)
        self.token = token
        self.appid = appid
        self._appid = appid.encode("utf-8")
        # A Cipher is immutable; each call takes its own encryptor/decryptor context.
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def __repr__(self) -> str:
        return f"MessageCrypto(appid={self.appid!r})"

    def encrypt(self, plaintext: str | bytes, *, random_prefix: bytes | None = None) -> str:
        """The base64 ``Encrypt`` value for ``plaintext``.

        ``random_prefix`` exists for test vectors; production lets it default to
        fresh random bytes, which is what keeps equal replies from looking equal.
        """
        msg = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        prefix = os.urandom(RANDOM_PREFIX_BYTES) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_PREFIX_BYTES:
            raise ValueError("random_prefix must be 16 bytes")
        buf = b"".join((prefix, _LENGTH.pack(len(msg)), msg, self._appid))
        pad = BLOCK_SIZE - len(buf) % BLOCK_SIZE
        encryptor = self._cipher.encryptor()
        ciphertext = encryptor.update(buf + bytes((pad,)) * pad) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The message bytes inside ``encrypt``; checks padding, length and AppID."""
        try:
            # strict_mode is b64decode(validate=True) without its per-call regex.
            ciphertext = binascii.a2b_base64(encrypt, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("Encrypt is not base64") from exc
        if not ciphertext or len(ciphertext) % 16:
            raise CryptoError("Encrypt is not a whole number of AES blocks")
        decryptor = self._cipher.decryptor()
        buf = decryptor.update(ciphertext) + decryptor.finalize()

        pad = buf[-1]
        if not 1 <= pad <= BLOCK_SIZE or buf[-pad:] != bytes((pad,)) * pad:
            raise InvalidPadding("bad PKCS#7 padding (wrong key?)")
        end = len(buf) - pad
        header = RANDOM_PREFIX_BYTES + 4
        if end < header:
            raise CryptoError("plaintext shorter than its header")
        (msg_len,) = _LENGTH.unpack_from(buf, RANDOM_PREFIX_BYTES)
        msg_end = header + msg_len
        if msg_end > end:
            raise CryptoError("message length exceeds the plaintext (wrong key?)")
        if not hmac.compare_digest(buf[msg_end:end], self._appid):
            raise InvalidAppId("plaintext is addressed to another AppID")
        return buf[header:msg_end]

    def verify_and_decrypt(
        self, *, msg_signature: str, timestamp: str, nonce: str, encrypt: str
    ) -> bytes:
        """Check ``msg_signature`` first, then decrypt: never decrypt unsigned input."""
        check_msg_signature(self.token, timestamp, nonce, encrypt, msg_signature)
        return self.decrypt(encrypt)

    def encrypt_envelope(
        self,
        plaintext: str | bytes,
        *,
        timestamp: str,
        nonce: str,
        random_prefix: bytes | None = None,
    ) -> dict[str, str | int]:
        """The four fields of an encrypted reply (or push), signed.

        ``TimeStamp`` is an int because both renderings carry it as a number
        (``<TimeStamp>1713424427</TimeStamp>``, ``"TimeStamp": 1713424427``).
        """
        encrypt = self.encrypt(plaintext, random_prefix=random_prefix)
        return {
            "Encrypt": encrypt,
            "MsgSignature": msg_signature(self.token, timestamp, nonce, encrypt),
            "TimeStamp": int(timestamp),
            "Nonce": nonce,
        }
