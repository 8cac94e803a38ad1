"""Owner passphrase and the sealed model mapping.

The passphrase is stored only as a salted scrypt hash. The mapping output -> model is stored
encrypted (Fernet) with a second key derived from the passphrase, so a rater who opens the
database file with another tool still cannot read it. Tokens have a fixed length and a fixed
timestamp, so neither size nor time tells outputs of different models apart.

Offline guessing: whoever copies the database can try passphrases against the hash or the seal
as fast as scrypt allows, so scrypt is memory-hard and slow on purpose. ``SCRYPT_N, SCRYPT_R,
SCRYPT_P`` = 2**17, 8, 1 (128 MiB per guess): 0.51-0.57 s per guess measured on the development
machine (2 cores shared with a training run, load 3.4), where 2**16 gave 0.24-0.27 s, short of
the 0.25 s floor, and the old 2**14 0.06-0.08 s; see docs/threat-model.md. The parameters are stored with every hash (``scrypt$N$r$p$salt$digest``)
and every seal salt (``scrypt$N$r$p$salt``), so studies made with older, cheaper parameters
(2**14, 8, 1; a seal salt that is bare hex) still open, and the cost can rise later.
Passphrases shorter than ``MIN_PASSPHRASE_LENGTH``, or found (after folding case, spaces,
punctuation, l33t spelling and trailing digits) in the shipped list of common passwords
(``studies/data/common_passphrases.txt``), are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from studies.errors import PassphraseError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
LEGACY_SCRYPT = (2**14, 8, 1)  # hashes and seals made before the cost was raised
MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024  # stored parameters asking for more are refused, not run
MIN_PASSPHRASE_LENGTH = 10
COMMON_PASSPHRASES_FILE = Path(__file__).resolve().parent / "data" / "common_passphrases.txt"
_FIXED_TOKEN_TIME = 946684800
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                       "@": "a", "$": "s", "!": "i", "+": "t", "|": "i"})
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm",
              "azertyuiopqsdfghjklmwxcvbn", "1234567890" * 3, "0123456789" * 3, "1qaz2wsx3edc4rfv5tgb6yhn",
              "1q2w3e4r5t6y7u8i9o0p", "qazwsxedcrfvtgbyhnujmikolp")


@dataclass(frozen=True)
class ScryptParams:
    n: int
    r: int
    p: int

    @property
    def memory(self) -> int:
        return 128 * self.n * self.r * self.p

    def check(self) -> None:
        """Refuse parameters that are not scrypt's or would take absurd memory (a damaged or hostile file)."""
        if self.n < 2 or self.n & (self.n - 1) or self.r < 1 or self.p < 1 or self.memory > MAX_SCRYPT_MEMORY:
            raise PassphraseError("The stored passphrase parameters are not valid; the study file may be damaged.")


CURRENT = ScryptParams(SCRYPT_N, SCRYPT_R, SCRYPT_P)


# --------------------------------------------------------------------------- strength


def check_passphrase_strength(passphrase: str, *, context: Iterable[str] = ()) -> None:
    """Refuse a passphrase that an offline guesser would try early; the message says why.

    ``context``: words the passphrase must not merely repeat (the study title, the owner's name).
    """
    text = passphrase or ""
    if len(text) < MIN_PASSPHRASE_LENGTH:
        raise PassphraseError(f"The study passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters. "
                              "A few unrelated words in a row are easy to remember and hard to guess.")
    compact = _compact(text)
    if any(v in common_passphrases() for v in _variants(text)):
        raise PassphraseError("This passphrase is one of the most common passwords and would be guessed "
                              "first. Choose a few unrelated words instead.")
    if len(set(compact)) < 4 or _is_repetition(compact) or _is_sequence(compact):
        raise PassphraseError("This passphrase is a run or repetition of a few characters and would be "
                              "guessed first. Choose a few unrelated words instead.")
    for word in (_compact(c) for c in context):
        if len(word) >= 3 and word in compact and len(compact.replace(word, "")) < 6:
            raise PassphraseError("The passphrase must not be the study title or the owner's name. "
                                  "Choose a few unrelated words instead.")


@lru_cache(maxsize=1)
def common_passphrases() -> frozenset[str]:
    """The shipped list of common passwords (lower case, letters and digits)."""
    lines = COMMON_PASSPHRASES_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _compact(text: str) -> str:
    """Lower case without spaces or punctuation."""
    return re.sub(r"[\W_]+", "", text.lower())


def _variants(text: str) -> set[str]:
    """The passphrase as a guesser would write it: as typed, l33t undone, trailing digits dropped."""
    low = text.lower()
    trimmed = re.sub(r"[\d\W_]+$", "", low)  # "P@ssw0rd 2024!" -> "p@ssw0rd"
    out: set[str] = set()
    for v in {low, trimmed, re.sub(r"^[\d\W_]+", "", trimmed)}:
        out |= {_compact(v), _compact(v.translate(_LEET))}
    for v in list(out):
        out.add(v.rstrip("0123456789"))
        out.add(v.lstrip("0123456789"))
    # "secretsecret2024": also the repeated unit of a repetition
    for v in list(out):
        m = re.fullmatch(r"(.+?)\1+", v)
        if m:
            out.add(m.group(1))
    return {v for v in out if v}


def _is_repetition(compact: str) -> bool:
    m = re.fullmatch(r"(.+?)\1+", compact)
    return m is not None and len(m.group(1)) <= 5


def _is_sequence(compact: str) -> bool:
    return any(compact in s or compact in s[::-1] for s in _SEQUENCES)


# --------------------------------------------------------------------------- hashing and sealing


def hash_passphrase(passphrase: str, params: ScryptParams | None = None) -> str:
    params = params or CURRENT  # read at call time, so a test session can use a cheaper cost
    salt = secrets.token_bytes(16)
    digest = _scrypt(passphrase, salt, params)
    return f"scrypt${params.n}${params.r}${params.p}${salt.hex()}${digest.hex()}"


def verify_passphrase(passphrase: str, encoded: str) -> bool:
    """Check a passphrase against a stored hash made with whatever parameters it records."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = encoded.split("$")
        params, salt = ScryptParams(int(n), int(r), int(p)), bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    try:
        params.check()
    except PassphraseError:
        return False
    digest = _scrypt(passphrase, salt, params)
    return hmac.compare_digest(digest.hex(), digest_hex)


def new_seal_salt(params: ScryptParams | None = None) -> str:
    """A fresh seal salt recording its scrypt parameters: ``scrypt$N$r$p$salt`` (at most 64 characters)."""
    params = params or CURRENT
    return f"scrypt${params.n}${params.r}${params.p}${secrets.token_hex(16)}"


def parse_seal_salt(seal_salt: str) -> tuple[bytes, ScryptParams]:
    """(salt, parameters) of a stored seal salt; a bare hex salt is an older study's (legacy cost)."""
    try:
        if seal_salt.startswith("scrypt$"):
            _, n, r, p, salt_hex = seal_salt.split("$")
            return bytes.fromhex(salt_hex), ScryptParams(int(n), int(r), int(p))
        return bytes.fromhex(seal_salt), ScryptParams(*LEGACY_SCRYPT)
    except ValueError as exc:
        raise PassphraseError("The study's seal is damaged; the model mapping cannot be opened.") from exc


class Seal:
    """Encrypts/decrypts the position of a study model for one output."""

    def __init__(self, passphrase: str, salt: str) -> None:
        salt_bytes, params = parse_seal_salt(salt)
        params.check()
        key = _scrypt(passphrase, salt_bytes, params)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, model_position: int) -> str:
        plain = f"{model_position:06d}".encode()
        return self._fernet.encrypt_at_time(plain, _FIXED_TOKEN_TIME).decode("ascii")

    def open(self, token: str) -> int:
        try:
            return int(self._fernet.decrypt(token.encode("ascii")).decode())
        except (InvalidToken, ValueError) as exc:
            raise PassphraseError("The sealed model mapping cannot be opened with this passphrase.") from exc


def measure_guess_seconds(params: ScryptParams | None = None, repeats: int = 3,
                          passphrases: Sequence[str] = ("benchmark passphrase",)) -> float:
    """Fastest of ``repeats`` timings of one guess (one scrypt) with ``params``, in seconds."""
    import time

    params = params or CURRENT
    best = float("inf")
    for i in range(repeats):
        start = time.perf_counter()
        _scrypt(passphrases[i % len(passphrases)], b"\0" * 16, params)
        best = min(best, time.perf_counter() - start)
    return best


def _scrypt(passphrase: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=params.n, r=params.r, p=params.p,
                          maxmem=MAX_SCRYPT_MEMORY + 16 * 1024 * 1024, dklen=32)
