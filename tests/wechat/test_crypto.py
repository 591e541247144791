"""Signatures and safe-mode AES, against the published vectors and by round trip."""

import base64
import string
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from wechat import crypto
from wechat.crypto import (
    CryptoError,
    InvalidAppId,
    InvalidKey,
    InvalidPadding,
    InvalidSignature,
    MessageCrypto,
)

# The official message-push page (Token "AAAAA"), JSON data format.
OFFICIAL_TOKEN = "AAAAA"
OFFICIAL_KEY = "A" * 43
OFFICIAL_APPID = "wxba5fad812f8e6fb9"
OFFICIAL_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJG"
    "QqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrf"
    "MZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgR"
    "tWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)
OFFICIAL_MSG = (
    '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",'
    '"CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
)

# wechatpy's tests/test_crypto.py (WeCom data: same algorithm, the corp id as receive id).
WECHATPY_TOKEN = "123456"
WECHATPY_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
WECHATPY_ID = "wx49f0ab532d5d035a"
WECHATPY_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHC"
    "rsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpX"
    "aG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQi"
    "MS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQi"
    "pvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
WECHATPY_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
WECHATPY_REPLY_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNc"
    "BqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY"
    "0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsV"
    "bwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAG"
    "VRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)

keys = st.text(alphabet=string.ascii_letters + string.digits, min_size=43, max_size=43)
appids = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=32)


def official() -> MessageCrypto:
    return MessageCrypto(OFFICIAL_TOKEN, OFFICIAL_KEY, OFFICIAL_APPID)


def raw_encrypt(key: str, buf: bytes) -> str:
    """Encrypt an arbitrary buffer (no framing, no padding) to forge bad plaintexts."""
    aes_key = base64.b64decode(key + "=")
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(buf) + encryptor.finalize()).decode()


# --- published vectors ------------------------------------------------------------


def test_it_matches_the_official_url_verification_vector() -> None:
    signature = crypto.url_signature("AAAAA", "1714036504", "1514711492")

    assert signature == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert signature.startswith("f464b24f") and signature.endswith("1441696")
    crypto.check_url_signature("AAAAA", "1714036504", "1514711492", signature)


def test_it_matches_the_official_plaintext_push_signature() -> None:
    crypto.check_url_signature(
        "AAAAA", "1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78"
    )
    # The safe-mode push carries a plain signature too; it must not be used for the body.
    crypto.check_url_signature(
        "AAAAA", "1714112445", "415670741", "6c5c811b55cc85e0e1b54100749188c20beb3f5d"
    )


def test_it_verifies_and_decrypts_the_official_safe_mode_push() -> None:
    assert (
        crypto.msg_signature(OFFICIAL_TOKEN, "1714112445", "415670741", OFFICIAL_ENCRYPT)
        == "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
    )

    msg = official().verify_and_decrypt(
        msg_signature="046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
        timestamp="1714112445",
        nonce="415670741",
        encrypt=OFFICIAL_ENCRYPT,
    )

    assert msg.decode() == OFFICIAL_MSG
    assert len(msg) == 167


def test_the_official_ciphertext_has_the_documented_layout() -> None:
    ciphertext = base64.b64decode(OFFICIAL_ENCRYPT)
    key = base64.b64decode(OFFICIAL_KEY + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    full = padded[: -padded[-1]]

    assert len(ciphertext) == 224
    assert len(full) == 205
    assert full[:16] == b"a8eedb185eb2fecf"
    assert struct.unpack(">I", full[16:20]) == (167,)
    assert full.endswith(OFFICIAL_APPID.encode())


def test_it_encrypts_the_official_reply_vector() -> None:
    envelope = official().encrypt_envelope(
        '{"demo_resp":"good luck"}',
        timestamp="1713424427",
        nonce="415670741",
        random_prefix=b"707722b803182950",
    )

    assert envelope == {
        "Encrypt": (
            "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
        ),
        "MsgSignature": "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
        "TimeStamp": 1713424427,
        "Nonce": "415670741",
    }


def test_it_decrypts_the_wechatpy_vector() -> None:
    box = MessageCrypto(WECHATPY_TOKEN, WECHATPY_KEY, WECHATPY_ID)

    msg = box.verify_and_decrypt(
        msg_signature="74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
        timestamp="1411525903",
        nonce="461056294",
        encrypt=WECHATPY_ENCRYPT,
    )

    assert b"<Content><![CDATA[test]]></Content>" in msg
    assert b"<FromUserName><![CDATA[messense]]></FromUserName>" in msg


def test_it_encrypts_the_wechatpy_vector() -> None:
    box = MessageCrypto(WECHATPY_TOKEN, WECHATPY_KEY, WECHATPY_ID)

    envelope = box.encrypt_envelope(
        WECHATPY_REPLY,
        timestamp="1411525903",
        nonce="461056294",
        random_prefix=b"1234567890123456",
    )

    assert envelope["Encrypt"] == WECHATPY_REPLY_ENCRYPT
    assert envelope["MsgSignature"] == "407518b7649e86ef23978113f92d27afa9296533"


# --- refusals --------------------------------------------------------------------


def test_it_rejects_forged_signature() -> None:
    with pytest.raises(InvalidSignature):
        crypto.check_url_signature("AAAAA", "1714036504", "1514711492", "f464b24f" + "0" * 32)


@pytest.mark.parametrize("signature", ["", "F464B24FC39322E44B38AA78F5EDD27BD1441696", "签名"])
def test_it_rejects_near_miss_and_non_ascii_signatures(signature: str) -> None:
    with pytest.raises(InvalidSignature):
        crypto.check_url_signature("AAAAA", "1714036504", "1514711492", signature)


def test_it_checks_msg_signature_before_touching_the_ciphertext() -> None:
    # Garbage that is not even base64: the signature failure must come first.
    with pytest.raises(InvalidSignature):
        official().verify_and_decrypt(
            msg_signature="0" * 40, timestamp="1", nonce="2", encrypt="!!not base64!!"
        )


def test_it_rejects_a_msg_signature_made_for_another_body() -> None:
    other = official().encrypt("<xml/>")
    with pytest.raises(InvalidSignature):
        official().verify_and_decrypt(
            msg_signature="046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
            timestamp="1714112445",
            nonce="415670741",
            encrypt=other,
        )


@pytest.mark.parametrize(
    "key",
    [
        "A" * 42,
        "A" * 44,
        "A" * 42 + "!",
        "A" * 42 + "=",
        "",
        "你" * 43,
    ],
)
def test_it_rejects_a_bad_encoding_aes_key(key: str) -> None:
    with pytest.raises(InvalidKey):
        MessageCrypto("t", key, "wx1")


def test_it_rejects_ciphertext_for_another_appid() -> None:
    encrypted = MessageCrypto("t", OFFICIAL_KEY, "wx_other").encrypt("<xml/>")

    with pytest.raises(InvalidAppId):
        MessageCrypto("t", OFFICIAL_KEY, OFFICIAL_APPID).decrypt(encrypted)


def test_it_rejects_an_appid_that_is_only_a_prefix_of_ours() -> None:
    encrypted = MessageCrypto("t", OFFICIAL_KEY, OFFICIAL_APPID[:-1]).encrypt("<xml/>")

    with pytest.raises(InvalidAppId):
        official().decrypt(encrypted)


@pytest.mark.parametrize(
    "tail",
    [
        bytes([0]) * 32,  # pad value 0
        bytes([33]) * 32,  # longer than a block of 32
        bytes(31) + bytes([4]),  # claims 4 bytes of padding that are not 4s
    ],
)
def test_it_rejects_bad_padding(tail: bytes) -> None:
    body = b"r" * 16 + struct.pack(">I", 6) + b"<xml/>" + OFFICIAL_APPID.encode()
    body += b"x" * (-len(body) % 32)

    with pytest.raises(InvalidPadding):
        official().decrypt(raw_encrypt(OFFICIAL_KEY, body + tail))


def test_it_rejects_a_length_field_longer_than_the_plaintext() -> None:
    body = b"r" * 16 + struct.pack(">I", 10_000) + b"<xml/>" + OFFICIAL_APPID.encode()
    pad = 32 - len(body) % 32

    with pytest.raises(CryptoError):
        official().decrypt(raw_encrypt(OFFICIAL_KEY, body + bytes([pad]) * pad))


@pytest.mark.parametrize(
    "encrypt", ["", "not base64!", "QUJD", base64.b64encode(b"x" * 17).decode()]
)
def test_it_rejects_ciphertext_that_is_not_whole_aes_blocks(encrypt: str) -> None:
    with pytest.raises(CryptoError):
        official().decrypt(encrypt)


@given(other=keys)
def test_it_never_returns_plaintext_under_the_wrong_key(other: str) -> None:
    encrypted = official().encrypt(OFFICIAL_MSG)
    if base64.b64decode(other + "=") == base64.b64decode(OFFICIAL_KEY + "="):
        return
    with pytest.raises(CryptoError):
        MessageCrypto(OFFICIAL_TOKEN, other, OFFICIAL_APPID).decrypt(encrypted)


def test_it_refuses_a_random_prefix_that_is_not_16_bytes() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        official().encrypt("x", random_prefix=b"short")


# --- round trips -----------------------------------------------------------------


@given(text=st.text(), key=keys, appid=appids)
def test_any_text_round_trips_under_any_key(text: str, key: str, appid: str) -> None:
    box = MessageCrypto("token", key, appid)

    encrypted = box.encrypt(text)

    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert box.decrypt(encrypted) == text.encode("utf-8")


@given(payload=st.binary(max_size=2048), token=st.text(min_size=1), nonce=st.text(min_size=1))
def test_a_signed_envelope_verifies_and_round_trips(payload: bytes, token: str, nonce: str) -> None:
    box = MessageCrypto(token, OFFICIAL_KEY, OFFICIAL_APPID)

    envelope = box.encrypt_envelope(payload, timestamp="1714112445", nonce=nonce)

    assert (
        box.verify_and_decrypt(
            msg_signature=str(envelope["MsgSignature"]),
            timestamp=str(envelope["TimeStamp"]),
            nonce=str(envelope["Nonce"]),
            encrypt=str(envelope["Encrypt"]),
        )
        == payload
    )


def test_fresh_random_prefixes_make_equal_replies_look_different() -> None:
    assert official().encrypt("same") != official().encrypt("same")


def test_a_block_aligned_plaintext_gets_a_full_block_of_padding() -> None:
    # 16 + 4 + 10 + 18 (appid) = 48 → pad 16; 16 + 4 + 26 + 18 = 64 → a full extra 32.
    aligned = official().encrypt("x" * 26)
    assert len(base64.b64decode(aligned)) == 96
    assert official().decrypt(aligned) == b"x" * 26
