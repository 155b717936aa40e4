"""accounts/cookie.py: the session cookie is Flask's cookie, made more cheaply.

What a person depends on: a cookie written before this serializer (or by Flask's) still signs
them in, every value a session holds comes back as it went in, and a cookie signed with another
key, altered or too old is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest
from flask import Flask
from flask.sessions import session_json_serializer
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup

from accounts.cookie import COMPRESS_FROM, CookieSerializer, DerivedOnceSigner, TaggedSessionJSON

OURS = TaggedSessionJSON()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.text().map(Markup),
    st.binary(max_size=20),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.uuids(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=5) | st.sampled_from([" t", " d", " m", " di", "x"]), inner, max_size=4),
    ),
    max_leaves=12,
)


JSON_APP = Flask(__name__)  # Flask's JSON is an app's (sorted keys, ASCII): any app's will do


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_it_writes_the_json_flask_writes_byte_for_byte(value: object) -> None:
    with JSON_APP.app_context():
        assert OURS.dumps(value) == session_json_serializer.dumps(value)
        assert OURS.loads(OURS.dumps(value)) == session_json_serializer.loads(session_json_serializer.dumps(value))


def test_what_a_session_holds_comes_back_as_it_went_in(app: Flask) -> None:
    session = {
        "_permanent": True,
        "user_id": 7,
        "seen": 1_800_000_000,
        "csrf_token": "a6109b13adafba0188972cbd4fdc6ae61e943ba4",
        "_flashes": [("success", "We saved your answers to ‘Standard 3’.")],
        "surveys": {"abc": {"band": "age-8-11", "pages": ["p1", "p2"]}},
        "unsent": {"/audit/1/s3": [["q:s3.1", "met"], ["q:s3.1-narrative", "<b>x</b>"]]},
        " t": "a key that looks like a tag",
    }
    with app.app_context():
        assert OURS.loads(OURS.dumps(session)) == session
        assert OURS.loads(OURS.dumps({" t": [1, 2]})) == {" t": [1, 2]}  # a lone tag-like key is escaped
        when = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
        odd = {"m": Markup("<b>safe</b>"), "b": b"\x00\xff", "t": when, "u": uuid.UUID(int=5)}
        assert OURS.loads(OURS.dumps(odd)) == odd


def serializers(keys: list[str]) -> tuple[CookieSerializer, URLSafeTimedSerializer]:
    """Ours, and Flask's own, as its sessions sign (salt, key derivation and digest)."""
    kwargs = {
        "salt": "cookie-session",
        "signer_kwargs": {"key_derivation": "hmac", "digest_method": hashlib.sha1},
    }
    return (
        CookieSerializer(keys, serializer=OURS, **kwargs),
        URLSafeTimedSerializer(keys, serializer=session_json_serializer, **kwargs),
    )


@pytest.mark.parametrize("size", [10, COMPRESS_FROM * 4])
def test_cookies_are_read_both_ways_short_and_long(app: Flask, size: int) -> None:
    ours, flasks = serializers(["the-secret"])
    value = {"user_id": 3, "note": "x" * size, "_flashes": [("success", "Saved")]}
    with app.app_context():
        mine = ours.dumps(value)
        assert flasks.loads(mine) == value
        assert ours.loads(flasks.dumps(value)) == value
        # a long payload is compressed, as Flask's would be; a short one goes as it is
        assert mine.startswith(".") is (size > COMPRESS_FROM)


def test_a_cookie_signed_otherwise_altered_or_too_old_is_refused(app: Flask) -> None:
    ours, _ = serializers(["the-secret"])
    stranger, _ = serializers(["another-secret"])
    with app.app_context():
        cookie = ours.dumps({"user_id": 1})
        with pytest.raises(BadSignature):
            ours.loads(stranger.dumps({"user_id": 1}))
        payload, stamp, signature = cookie.split(".")
        forged = ours.dump_payload({"user_id": 2}).decode()
        with pytest.raises(BadSignature):
            ours.loads(f"{forged}.{stamp}.{signature}")
        with pytest.raises(SignatureExpired):
            ours.loads(cookie, max_age=-1)
        assert ours.loads(f"{payload}.{stamp}.{signature}") == {"user_id": 1}


def test_an_old_key_still_reads_and_the_new_one_signs(app: Flask) -> None:
    old, _ = serializers(["old-secret"])
    rotated, _ = serializers(["old-secret", "new-secret"])
    new, _ = serializers(["new-secret"])
    with app.app_context():
        assert rotated.loads(old.dumps({"user_id": 4})) == {"user_id": 4}
        assert new.loads(rotated.dumps({"user_id": 5})) == {"user_id": 5}
        with pytest.raises(BadSignature):
            new.loads(old.dumps({"user_id": 4}))


def test_each_key_is_derived_once(derived: list[str | bytes | None]) -> None:
    signer = DerivedOnceSigner(["old-secret", "new-secret"], salt="cookie-session", key_derivation="hmac")
    signed = [signer.sign(f"value {n}") for n in range(5)]
    assert [signer.unsign(s) for s in signed] == [f"value {n}".encode() for n in range(5)]
    assert derived == [b"new-secret"]  # the right signatures all matched the newest key
    for _ in range(3):
        with pytest.raises(BadSignature):
            signer.unsign(signed[0][:-2] + b"xx")
    assert derived == [b"new-secret", b"old-secret"]  # the old key too, for the forged one, once


def test_a_serializer_derives_each_key_once_across_requests(app: Flask, derived: list[str | bytes | None]) -> None:
    """itsdangerous makes a signer per dumps and loads: ours keeps one per salt, and its key."""
    ours, flasks = serializers(["old-secret", "new-secret"])
    with app.app_context():
        cookies = [ours.dumps({"user_id": n}) for n in range(5)]
        assert [ours.loads(c) for c in cookies] == [{"user_id": n} for n in range(5)]
        assert derived == [b"new-secret"]
        assert [flasks.loads(c) for c in cookies] == [{"user_id": n} for n in range(5)], "still Flask's cookie"
    assert ours.make_signer() is ours.make_signer(), "one signer for the session's salt"
    assert ours.make_signer("another salt") is not ours.make_signer()
    other, _ = serializers(["another-secret"])
    with app.app_context(), pytest.raises(BadSignature):
        other.loads(cookies[0])  # a signer is its serializer's own: another key's refuses


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Each text whose signature is checked, from now on, in order."""
    checked: list[bytes] = []
    parent = DerivedOnceSigner.verify_signature

    def counting(self: DerivedOnceSigner, value: bytes, sig: bytes) -> bool:
        checked.append(value)
        return parent(self, value, sig)

    monkeypatch.setattr(DerivedOnceSigner, "verify_signature", counting)
    return checked


def _refusal(serializer: URLSafeTimedSerializer, text: str, **kwargs: object) -> str:
    try:
        serializer.loads(text, **kwargs)  # type: ignore[arg-type]
    except BadSignature as error:
        return f"{type(error).__name__}: {error}"
    return "read"


def test_a_text_read_before_is_not_checked_again_but_its_age_is(
    app: Flask, checks: list[bytes], clock: list[float]
) -> None:
    ours, flasks = serializers(["the-secret"])
    with app.app_context():
        cookie = ours.dumps({"user_id": 1})
        assert [ours.loads(cookie, max_age=60) for _ in range(3)] == [{"user_id": 1}] * 3
        assert len(checks) == 1, "the same text, checked once"
        for moved, word in ((61, ">"), (-1, "<")):  # too old, then signed in the future
            clock[0] += moved
            refused = _refusal(ours, cookie, max_age=60)
            assert refused.startswith(f"SignatureExpired: Signature age {moved} {word}")
            assert refused == _refusal(flasks, cookie, max_age=60), "as itsdangerous refuses it"
            clock[0] -= moved
        payload, when = ours.loads(cookie, max_age=60, return_timestamp=True)
        assert (payload, when) == flasks.loads(cookie, max_age=60, return_timestamp=True)
        assert len(checks) == 1


def test_only_the_exact_text_read_before_skips_the_check(app: Flask, checks: list[bytes]) -> None:
    ours, _ = serializers(["the-secret"])
    with app.app_context():
        cookie = ours.dumps({"user_id": 1})
        assert ours.loads(cookie) == {"user_id": 1}
        payload, stamp, signature = cookie.split(".")
        forged = ours.dump_payload({"user_id": 2}).decode()
        # the first character: the last one's low bits are base64 padding, not signature
        altered = ("A" if signature[0] != "A" else "B") + signature[1:]
        for text in (f"{forged}.{stamp}.{signature}", f"{payload}.{stamp}.{altered}", f"{payload}.{stamp}"):
            with pytest.raises(BadSignature):
                ours.loads(text)
        with pytest.raises(BadSignature):
            ours.loads(cookie, salt="another salt")  # a salt's texts are its own
        assert len(checks) == 5, "every other text was checked in full"
        assert ours.loads(cookie.encode()) == {"user_id": 1}, "the same text as bytes is the same text"
        assert len(checks) == 5


def test_each_read_gets_its_own_copy(app: Flask) -> None:
    ours, _ = serializers(["the-secret"])
    with app.app_context():
        for held in ({"user_id": 1, "seen": 5}, {"_flashes": [("success", "Saved")], "unsent": {"/a": [["q", "x"]]}}):
            cookie = ours.dumps(held)
            first = ours.loads(cookie)
            first["user_id"] = 2
            for value in first.values():
                if isinstance(value, list):
                    value.append("changed")
                if isinstance(value, dict):
                    value.clear()
            assert ours.loads(cookie) == held, "a request that changes its session leaves the next one's alone"


def test_the_texts_remembered_are_bounded(app: Flask, checks: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("accounts.cookie.VERIFIED_KEPT", 3)
    ours, _ = serializers(["the-secret"])
    with app.app_context():
        cookies = [ours.dumps({"user_id": n}) for n in range(7)]
        for _ in range(2):
            assert [ours.loads(c) for c in cookies] == [{"user_id": n} for n in range(7)]
            assert len(ours._verified) <= 3
        assert len(checks) == 14, "more texts than are kept: each checked again, none wrongly"
