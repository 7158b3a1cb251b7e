"""/docs works without the internet: Swagger UI comes from the installed package, not a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_docs_load_only_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert sources and all(source.startswith("/docs/assets/") for source in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200
    assert "/openapi.json" in page.text
