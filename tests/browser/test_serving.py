"""The browser tests' server: file responses are closed before they are written."""

from __future__ import annotations

import io
import urllib.request

from flask import Flask, send_file
from werkzeug.wsgi import FileWrapper

from tests.browser.serving import files_read_whole, serving


def test_a_file_response_is_read_whole_and_closed_before_the_server_writes_it() -> None:
    opened = io.BytesIO(b"font bytes")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "font/woff2")])
        return FileWrapper(opened)

    body = files_read_whole(app)({}, lambda *args: None)
    assert list(body) == [b"font bytes"] and opened.closed, "closed even if the browser leaves now"


def test_other_responses_pass_through_as_the_app_made_them() -> None:
    made = iter([b"a", b"b"])
    body = files_read_whole(lambda environ, start_response: made)({}, lambda *args: None)
    assert body is made, "a streamed download still streams"


def test_the_app_is_served_and_its_files_arrive_whole(tmp_path) -> None:
    path = tmp_path / "asset.txt"
    path.write_bytes(b"x" * 100_000)
    app = Flask(__name__)
    app.add_url_rule("/asset", "asset", lambda: send_file(path))
    with serving(app) as url, urllib.request.urlopen(f"{url}/asset") as response:
        assert response.read() == b"x" * 100_000
