#!/usr/bin/env python3
"""Generate the minex known-answer file (tests/data/kat.json).

Written from DESIGN.md ("Keys and cryptographic constructions") alone, independently of the
Rust code in src/keys, so that the Rust test tests/crypto.rs checks the implementation against
a second implementation of the contract:

* derived key = HKDF-SHA256(IKM = master key, salt = b"minex/v1",
                            info = purpose || 0x00 || domain || 0x00 || space, L = 32)
* key id      = hex(HMAC-SHA256(derived key, b"minex key id")[:8])
* token       = hex(HMAC-SHA256(token key, value)[:16])
* ciphertext  = base64url_nopad(nonce || AES-256-GCM-SIV(encrypt key, nonce, value,
                                                          aad = domain || 0x00 || space))
  with nonce  = HMAC-SHA256(nonce key, value)[:12]

HKDF and HMAC come from the Python standard library (hmac, hashlib); AES-GCM-SIV from
pyca/cryptography (OpenSSL). HKDF is also cross-checked against RFC 5869 test case 1 and
against pyca/cryptography's own HKDF.

Usage (from the repository root):

    python3 -m venv .venv && .venv/bin/pip install cryptography
    .venv/bin/python tests/data/make_kat.py > tests/data/kat.json

The master keys below are TEST keys, published on purpose. Never use them for real data.
"""

import base64
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT = b"minex/v1"
KEY_ID_MESSAGE = b"minex key id"
PURPOSES = ["token", "encrypt", "nonce"]
TOKEN_BYTES = 16
NONCE_BYTES = 12

# Fixed, published TEST master keys. Never use them for real data.
MASTER_KEYS = [
    ("TEST-ONLY key 1: bytes 0x00..0x1f", bytes(range(32))),
    ("TEST-ONLY key 2: 32 bytes of 0x42", bytes([0x42]) * 32),
]
DOMAINS = ["skolsystem-ab", "socialtjanst-ab"]
SPACES = ["person", "case"]
VALUES = [
    # Three personnummer from Skatteverket's official list of TEST numbers
    # (/work/shared/testdata/skatteverket/testpersonnummer.json): reserved for testing,
    # never given to a real person. 12-digit canonical form YYYYMMDDNNNC.
    "189001019802",
    "199001012385",
    "200501012397",
    # The empty string.
    "",
    # UTF-8 with å, ä, ö (precomposed, NFC): 34 bytes, more than two AES blocks.
    "Åsa Öberg-Lindström, Västerås",
    # A case id.
    "ÄR-2025-00017",
]


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF with SHA-256, from the standard library only."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def self_check() -> None:
    # RFC 5869, Appendix A.1 (test case 1).
    okm = hkdf_sha256(
        bytes.fromhex("0b" * 22),
        bytes.fromhex("000102030405060708090a0b0c"),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        "34007208d5b887185865"
    ), "HKDF does not match RFC 5869 A.1"
    # RFC 8452, Appendix C.2, first AEAD_AES_256_GCM_SIV vector (empty plaintext, no AAD).
    key = bytes.fromhex("01" + "00" * 31)
    nonce = bytes.fromhex("030000000000000000000000")
    assert AESGCMSIV(key).encrypt(nonce, b"", None).hex() == "07f5f4169bbf55a8400cd47ea6fd400f"


def hkdf_info(purpose: str, domain: str, space: str) -> bytes:
    return purpose.encode("ascii") + b"\0" + domain.encode("utf-8") + b"\0" + space.encode("utf-8")


def derive(master: bytes, purpose: str, domain: str, space: str) -> bytes:
    info = hkdf_info(purpose, domain, space)
    okm = hkdf_sha256(master, SALT, info, 32)
    other = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=info).derive(master)
    assert okm == other, "stdlib HKDF and pyca HKDF disagree"
    return okm


def key_id(key: bytes) -> str:
    return hmac.new(key, KEY_ID_MESSAGE, hashlib.sha256).digest()[:8].hex()


def b64url_nopad(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def entry(name: str, master: bytes, domain: str, space: str) -> dict:
    keys = {p: derive(master, p, domain, space) for p in PURPOSES}
    aad = domain.encode("utf-8") + b"\0" + space.encode("utf-8")
    aead = AESGCMSIV(keys["encrypt"])
    values = []
    for text in VALUES:
        value = text.encode("utf-8")
        token = hmac.new(keys["token"], value, hashlib.sha256).digest()[:TOKEN_BYTES]
        nonce = hmac.new(keys["nonce"], value, hashlib.sha256).digest()[:NONCE_BYTES]
        sealed = aead.encrypt(nonce, value, aad)  # ciphertext || 16-byte tag
        assert aead.decrypt(nonce, sealed, aad) == value
        values.append(
            {
                "value": text,
                "value_hex": value.hex(),
                "token": token.hex(),
                "nonce_hex": nonce.hex(),
                "ciphertext": b64url_nopad(nonce + sealed),
            }
        )
    return {
        "master_key_name": name,
        "master_key": master.hex(),
        "domain": domain,
        "space": space,
        "aad_hex": aad.hex(),
        "keys": {
            p: {
                "hkdf_info_hex": hkdf_info(p, domain, space).hex(),
                "key": keys[p].hex(),
                "key_id": key_id(keys[p]),
            }
            for p in PURPOSES
        },
        "values": values,
    }


def main() -> None:
    self_check()
    entries = [
        entry(name, master, domain, space)
        for name, master in MASTER_KEYS
        for domain in DOMAINS
        for space in SPACES
    ]
    doc = {
        "description": (
            "minex known-answer tests for the keyed constructions of DESIGN.md "
            "(HKDF-SHA256 derived keys, key ids, tokens, AES-256-GCM-SIV ciphertexts). "
            "TEST keys only. Generated by tests/data/make_kat.py; format in tests/data/README.md."
        ),
        "version": "minex/v1",
        "constants": {
            "hkdf_salt": SALT.decode("ascii"),
            "key_id_message": KEY_ID_MESSAGE.decode("ascii"),
            "token_bytes": TOKEN_BYTES,
            "nonce_bytes": NONCE_BYTES,
            "tag_bytes": 16,
        },
        "entries": entries,
    }
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
