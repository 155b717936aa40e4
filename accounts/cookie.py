"""The session cookie's serializer: the cookie Flask writes, at less cost per request.

Every request reads the signed cookie and a signed-in save writes it again (its "saved" message
goes in it). Flask's serializer is itsdangerous' URL-safe timed serializer over Flask's tagged
JSON; three things in it cost more than the rest together, and none of them is needed to make
the same cookie:

- itsdangerous makes a new signer, and derives the HMAC key from the secret (two hashes), on
  every signature made or checked; the derived key depends on the secret alone, so one signer
  is kept per salt (`KeepsItsSigner`) and keeps the key (`DerivedOnceSigner`);
- it compresses every payload with zlib to see whether that is shorter, and setting up zlib
  costs more than the rest of the signing for a cookie of a hundred bytes, which compression
  never shortens by much: payloads under COMPRESS_FROM bytes go as they are (the reader tells
  the two apart by the payload's first character, as before, so either kind is read);
- Flask tags values by asking each of its eight tags in turn about every value; strings,
  numbers, lists, tuples and plain dicts (all a session holds here) are tagged directly by
  `TaggedSessionJSON.tag`, and anything else by Flask's tags, so the JSON is Flask's, byte for byte.

The signature, its key, the timestamp, the salt, the expiry check and the format are
itsdangerous' own: a cookie signed by Flask's serializer is read, one signed by this one is read by
Flask's, and one signed with another key is refused (tests/accounts/test_cookie.py).
"""

from __future__ import annotations

import zlib
from typing import Any

from flask.json.tag import TaggedJSONSerializer, TagTuple
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes

COMPRESS_FROM = 512  # bytes of JSON: below this, zlib's set-up costs more than it saves

_PLAIN = frozenset({str, int, float, bool, type(None)})  # values Flask's tags leave as they are


class DerivedOnceSigner(TimestampSigner):
    """itsdangerous' timestamp signer, deriving each secret's key once instead of at every use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        key = self._derived.get(secret)
        if key is None:
            key = self._derived[secret] = super().derive_key(secret)
        return key


class KeepsItsSigner(URLSafeTimedSerializer):
    """A serializer that signs and checks with one signer per salt, made on first use.

    itsdangerous makes a new signer for every dumps and loads, so a DerivedOnceSigner's kept key
    would be thrown away with it each time. A signer holds only its keys, salt and methods (the
    serializer's, fixed when it is made) and keeps no state between calls, so one can be reused
    by every request and thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signers: dict[str | bytes, Any] = {}

    def make_signer(self, salt: str | bytes | None = None) -> Any:
        salt = self.salt if salt is None else salt
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer


class CookieSerializer(KeepsItsSigner):
    """URLSafeTimedSerializer that compresses only payloads long enough to gain by it."""

    default_signer = DerivedOnceSigner

    def dump_payload(self, obj: Any) -> bytes:
        json = want_bytes(self.serializer.dumps(obj, **self.serializer_kwargs))
        if len(json) >= COMPRESS_FROM:
            compressed = zlib.compress(json)
            if len(compressed) < len(json) - 1:  # as itsdangerous decides
                return b"." + base64_encode(compressed)
        return base64_encode(json)


class TaggedSessionJSON(TaggedJSONSerializer):
    """Flask's tagged JSON, tagging the kinds of value a session holds without trying each tag."""

    def tag(self, value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is list:
            return [self.tag(item) for item in value]
        if kind is tuple:
            return {TagTuple.key: [self.tag(item) for item in value]}
        if kind is dict and not (len(value) == 1 and next(iter(value)) in self.tags):
            return {key: self.tag(item) for key, item in value.items()}
        return super().tag(value)  # a subclass, bytes, Markup, a time, a dict that looks tagged...
