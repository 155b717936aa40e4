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

And a signed text that was checked once is not checked again (`KeepsItsSigner.loads`): a browser
sends the same cookie, and a form the same CSRF token, with every request until it changes.

The signature, its key, the timestamp, the salt, the expiry check and the format are
itsdangerous' own: a cookie signed by Flask's serializer is read, one signed by this one is read by
Flask's, and one signed with another key is refused (tests/accounts/test_cookie.py).
"""

from __future__ import annotations

import copy
import zlib
from typing import Any

from flask.json.tag import TaggedJSONSerializer, TagTuple
from itsdangerous import SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes

COMPRESS_FROM = 512  # bytes of JSON: below this, zlib's set-up costs more than it saves

_PLAIN = frozenset({str, int, float, bool, type(None)})  # values Flask's tags leave as they are
# signed texts a serializer remembers having checked (cookies, CSRF tokens): a cookie is at most
# 4 kB, and what it holds a few times that decoded, so a worker keeps a few MB at most
VERIFIED_KEPT = 256


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
    """A serializer that signs and checks with one signer per salt, made on first use, and
    remembers the signed texts it has read.

    itsdangerous makes a new signer for every dumps and loads, so a DerivedOnceSigner's kept key
    would be thrown away with it each time. A signer holds only its keys, salt and methods (the
    serializer's, fixed when it is made) and keeps no state between calls, so one can be reused
    by every request and thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signers: dict[str | bytes, Any] = {}
        # (salt, signed text) -> (what it holds, its timestamp as signed, and as a time)
        self._verified: dict[tuple[str | bytes | None, bytes], tuple[Any, int, Any]] = {}

    def make_signer(self, salt: str | bytes | None = None) -> Any:
        salt = self.salt if salt is None else salt
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer

    def loads(  # type: ignore[override]
        self,
        s: str | bytes,
        max_age: int | None = None,
        return_timestamp: bool = False,
        salt: str | bytes | None = None,
    ) -> Any:
        """itsdangerous' loads, checking the signature of a text only the first time it is read.

        A signature is the HMAC of the text under this serializer's keys, which never change
        (a serializer is made per set of keys), so a text whose signature matched once matches
        every time: the exact text, byte for byte, is looked up, and any other text is checked
        in full. What does change is the signature's age, so that is checked on every read,
        as itsdangerous checks it (SignatureExpired past `max_age`, or signed in the future).
        Only texts that were read are kept, at most VERIFIED_KEPT of them (then forgotten at
        once, which only costs checking them again); each read gets its own copy of what the
        text holds, so changing a session in one request never changes the next one's.

        Under gunicorn, with eight signed-in users saving standards on PostgreSQL
        (bench/submit.py --scenario s11), opening the session took 0.26 to 0.29 ms of the
        worker's CPU a save (of 5.1 to 5.8 ms), and 0.11 to 0.12 ms with this: the HMAC, the
        base64 and the tagged JSON of the same cookie, each time; the CSRF token is the same.
        """
        text = want_bytes(s)
        known = self._verified.get((salt, text))
        if known is None:
            held, when = super().loads(text, max_age=max_age, return_timestamp=True, salt=salt)
            if len(self._verified) >= VERIFIED_KEPT:
                self._verified.clear()
            known = self._verified[(salt, text)] = (held, int(when.timestamp()), when)
        elif max_age is not None:
            self._check_age(text, known[1], known[2], max_age, salt)
        held = _own_copy(known[0])
        return (held, known[2]) if return_timestamp else held

    def _check_age(self, text: bytes, signed: int, when: Any, max_age: int, salt: str | bytes | None) -> None:
        """TimestampSigner.unsign's check of a signature's age, with its messages."""
        signer = self.make_signer(salt)
        age = signer.get_timestamp() - signed
        if age > max_age:
            message = f"Signature age {age} > {max_age} seconds"
        elif age < 0:
            message = f"Signature age {age} < 0 seconds"
        else:
            return
        value = text.rsplit(want_bytes(signer.sep), 2)[0]
        raise SignatureExpired(message, payload=value, date_signed=when)


def _own_copy(held: Any) -> Any:
    """What a signed text holds, as a caller may change it without changing what is kept: a
    session of plain values (a user id, times, a token) copied flat, anything else deeply."""
    kind = type(held)
    if kind in _PLAIN:
        return held
    if kind is dict and all(type(value) in _PLAIN for value in held.values()):
        return dict(held)
    return copy.deepcopy(held)


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
