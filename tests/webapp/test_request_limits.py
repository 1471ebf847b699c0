"""A body declared larger than any request may be is refused before anything reads it (finding: three
connections declaring 30 MB and sending 1 KB froze a 3-worker site for 20 s)."""
import socket
import sys
import time
import urllib.request

import pytest

from tests.webapp.helpers import database_url, free_port, running_process, service_env, wait_for

DECLARED = 30 * 2**20


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/studies/login/", "/api/demo/uploads/", "/api/rounds/any/join/"])
def test_an_oversized_declared_body_is_refused_unread(client, path):
    response = client.generic("POST", path, b"x" * 1024, content_type="application/octet-stream",
                              CONTENT_LENGTH=str(DECLARED))
    assert response.status_code == 413 and b"larger than the limit" in response.content


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_slow_oversized_bodies_do_not_hold_the_only_web_worker(tmp_path):
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = service_env(DATABASE_URL=database_url(), PIENET_VAR_DIR=tmp_path / "var", SECURE_SSL_REDIRECT="0",
                      ALLOWED_HOSTS="127.0.0.1")
    command = [sys.executable, "-m", "gunicorn", "webapp.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", "1", "--timeout", "60"]

    def page_answers() -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models/", timeout=5).close()
        except OSError:
            return False
        return True

    with running_process(command, env, log_path):
        wait_for(page_answers, 60, "gunicorn", log_path)
        slow = []
        for _ in range(3):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(
                f"POST /api/demo/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                f"boundary=x\r\nContent-Length: {DECLARED}\r\n\r\n".encode() + b"x" * 1024
            )
            slow.append(connection)
        started = time.monotonic()
        replies = [connection.recv(200) for connection in slow]
        assert all(reply.startswith(b"HTTP/1.1 413") for reply in replies), replies
        answered = page_answers()
        assert answered and time.monotonic() - started < 10, (answered, time.monotonic() - started)
        for connection in slow:
            connection.close()
