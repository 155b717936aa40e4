"""The application as a whole: headers, assets, error pages, refusing broken definitions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from app import _secret_key, create_app


def test_security_headers_and_a_fresh_nonce_per_request(client: FlaskClient) -> None:
    first = client.get("/")
    second = client.get("/")
    csp = first.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in first.get_data(as_text=True)
    assert nonce not in second.headers["Content-Security-Policy"]
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["X-Frame-Options"] == "DENY"
    assert first.headers["Cache-Control"] == "no-store"


def test_govuk_assets_are_served_by_the_app(client: FlaskClient) -> None:
    with client.get("/assets/govuk-frontend.min.css") as css:
        assert css.status_code == 200 and b".govuk-" in css.data
        assert css.headers["Cache-Control"] == "public, max-age=86400"
    with client.get("/assets/govuk-frontend.min.js") as js:
        assert js.status_code == 200 and b"initAll" in js.data
    with client.get("/assets/fonts/bold-b542beb274-v2.woff2") as font:
        assert font.status_code == 200
    assert client.get("/assets/../package.json").status_code == 404
    assert "/assets/govuk-frontend.min.js" in client.get("/").get_data(as_text=True)


def test_pages_for_everyone(client: FlaskClient) -> None:
    for path, words in [
        ("/", "Safeguarding audits and surveys"),
        ("/accessibility", "Accessibility statement"),
        ("/privacy", "Privacy notice"),
    ]:
        page = client.get(path)
        assert page.status_code == 200
        assert words in page.get_data(as_text=True)


def test_oversized_body_is_refused_with_a_clear_message(client: FlaskClient) -> None:
    page = client.post("/preview/s11-self-audit/s1", data={"s1.1-narrative": "x" * (1024 * 1024 + 1)})
    assert page.status_code == 413
    assert "What you sent is too large" in page.get_data(as_text=True)


def test_unexpected_errors_show_a_page_not_a_trace(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = app.test_client().get("/boom")
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in body
    assert "secret detail" not in body


def test_broken_definition_stops_the_service_but_not_the_command(tmp_path: Path) -> None:
    folder = tmp_path / "definitions"
    shutil.copytree(Path("questionnaires/definitions"), folder)
    data = json.loads((folder / "family-experience.json").read_text())
    data["sections"][0]["questions"][0]["type"] = "radio"
    (folder / "family-experience.json").write_text(json.dumps(data))
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DEMO_MODE": True, "DEFINITIONS_DIR": str(folder)})
    page = app.test_client().get("/preview/")
    assert page.status_code == 503
    with app.test_client().get("/assets/govuk-frontend.min.css") as css:
        assert css.status_code == 200
    result = app.test_cli_runner().invoke(args=["questionnaires", "validate"])
    assert result.exit_code == 1
    assert "family-experience.json: $.sections[0].questions[0].type: unknown question type" in result.output


def test_secret_key_is_made_once_and_kept(tmp_path: Path) -> None:
    key = _secret_key(str(tmp_path))
    assert len(key) == 64
    assert _secret_key(str(tmp_path)) == key
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_an_id_too_large_for_the_database_is_a_404_not_an_error(client) -> None:
    assert client.get(f"/review/audits/{2**31}").status_code in (302, 404)
    assert client.get(f"/audit/{2**40}/check").status_code in (302, 404)
    with client.application.test_request_context():
        adapter = client.application.url_map.bind("localhost")
        assert adapter.match(f"/audit/{2**31 - 1}/check")[1] == {"audit_id": 2**31 - 1}


FREEZE_PROBE = """
import gc, sys
calls = []
freeze = gc.freeze
gc.freeze = lambda: calls.append(1) or freeze()
from app import create_app
app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite:///" + sys.argv[1]})
client = app.test_client()
served = {"SERVER_SOFTWARE": sys.argv[2]}
before = gc.get_freeze_count()
first = client.get("/accessibility", environ_base=served).status_code
after_first = gc.get_freeze_count()
second = client.get("/accessibility", environ_base=served).status_code
print(before, first, after_first > 1000, second, len(calls))
"""


def test_a_gunicorn_worker_freezes_what_its_first_request_built_once(tmp_path: Path, monkeypatch) -> None:
    """In a gunicorn worker, the objects alive after its first request (definitions, templates,
    compiled queries) are frozen out of the collector's walks, once; under another server, or
    TESTING, nothing changes."""
    import gc
    import subprocess
    import sys

    def probe(server: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", FREEZE_PROBE, str(tmp_path / f"{server}.sqlite3"), server],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert probe("gunicorn/23.0.0") == ["0", "200", "True", "200", "1"]
    assert probe("Werkzeug/3.1.3") == ["0", "200", "False", "200", "0"]  # flask run: as it is
    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    assert app.test_client().get("/accessibility").status_code == 200
    assert calls == []
