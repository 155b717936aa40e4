"""The app served on a free loopback port for the browser, one way for every browser test.

werkzeug's development server leaves a file response open when the browser drops the
connection first (it reads what is left of the request, which raises, before it closes the
response), so a font the browser stopped loading surfaced later as a ResourceWarning in
whichever test was running. A file response is read whole and closed here before the server
writes it: the test server's files are small, and the app's own responses are untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wsgi import FileWrapper


def files_read_whole(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """`app` with file responses read and closed before they are written."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = app(environ, start_response)
        if not isinstance(body, FileWrapper):
            return body
        try:
            return [b"".join(body)]
        finally:
            body.close()

    return wrapped


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app's address while it is served in a thread; the server stops on leaving."""
    http = make_server("127.0.0.1", 0, files_read_whole(app), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=10)
