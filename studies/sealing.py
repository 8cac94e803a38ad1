"""Owner passphrase and the sealed model mapping.

The passphrase is stored only as a salted scrypt hash. The mapping output -> model is stored
encrypted (Fernet) with a second key derived from the passphrase, so a rater who opens the
database file with another tool still cannot read it. Tokens have a fixed length and a fixed
timestamp, so neither size nor time tells outputs of different models apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

from studies.errors import PassphraseError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSPHRASE_LENGTH = 8
_FIXED_TOKEN_TIME = 946684800


def check_passphrase_strength(passphrase: str) -> None:
    if len(passphrase or "") < MIN_PASSPHRASE_LENGTH:
        raise PassphraseError(f"The study passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters.")


def hash_passphrase(passphrase: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_passphrase(passphrase: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = encoded.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = _scrypt(passphrase, bytes.fromhex(salt_hex), int(n), int(r), int(p))
    return hmac.compare_digest(digest.hex(), digest_hex)


def new_seal_salt() -> str:
    return secrets.token_hex(16)


class Seal:
    """Encrypts/decrypts the position of a study model for one output."""

    def __init__(self, passphrase: str, salt_hex: str) -> None:
        key = _scrypt(passphrase, bytes.fromhex(salt_hex), SCRYPT_N, SCRYPT_R, SCRYPT_P)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, model_position: int) -> str:
        plain = f"{model_position:06d}".encode()
        return self._fernet.encrypt_at_time(plain, _FIXED_TOKEN_TIME).decode("ascii")

    def open(self, token: str) -> int:
        try:
            return int(self._fernet.decrypt(token.encode("ascii")).decode())
        except (InvalidToken, ValueError) as exc:
            raise PassphraseError("The sealed model mapping cannot be opened with this passphrase.") from exc


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
