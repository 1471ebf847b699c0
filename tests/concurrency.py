"""Helpers for tests of simultaneous requests against the real database (PostgreSQL in CI): each request
runs in its own thread and database connection, all released together by a barrier."""
import threading

import pytest
from django.db import connection, connections
from django.test import Client


@pytest.fixture(autouse=True)
def real_database():
    """Row locks only mean something on PostgreSQL; SQLite serializes every write anyway."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested against PostgreSQL (set TEST_DATABASE_URL)")


def at_once(*calls, timeout: float = 60):
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def same_browser(first: Client) -> Client:
    """A second tab of the same browser: a new client sharing the first one's session cookie."""
    tab = Client()
    tab.cookies = first.cookies
    return tab
