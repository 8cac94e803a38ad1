"""Optional rater PIN: set when a rater is added, asked when that rater's session starts.

It keeps one rater from answering as another on a shared computer; it is not a secret against
someone who can open the database file. Stored only as a salted scrypt hash (``hashlib.scrypt``),
compared in constant time; the PIN itself is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from studies.errors import StudyError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 32


class PinError(StudyError):
    """A rater PIN is missing, wrong, or not acceptable as a new PIN."""


def check_pin_format(pin: str) -> str:
    """A new PIN: 4 to 32 characters, no spaces at either end."""
    if pin != pin.strip():
        raise PinError("A PIN cannot start or end with a space.")
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise PinError(f"A rater PIN has {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} characters.")
    return pin


def hash_pin(pin: str) -> str:
    """``scrypt$N$r$p$salt$digest`` (hex) of a PIN checked by :func:`check_pin_format`."""
    check_pin_format(pin)
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str | None, encoded: str | None) -> bool:
    """True when ``encoded`` is None (no PIN set) or ``pin`` matches it."""
    if encoded is None:
        return True
    if not pin:
        return False
    try:
        scheme, n, r, p, salt_hex, digest_hex = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = _scrypt(pin, bytes.fromhex(salt_hex), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)
