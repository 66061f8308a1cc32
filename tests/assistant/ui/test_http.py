"""The Gradio app served on loopback and called over HTTP: the ``/chat`` endpoint through ``gradio_client``, and a
login required when credentials are configured."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.service import Assistant
from tests.assistant.ui.conftest import free_port

pytestmark = pytest.mark.slow


def _content_text(content: Any) -> str:
    """Chatbot message content as text (Gradio may send a string or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_content_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    return str(content)


def test_chat_endpoint_over_http(corpus_assistant: Assistant) -> None:
    from gradio_client import Client

    from assistant.ui.app import build_app, serve

    app = build_app(corpus_assistant)
    port = free_port()
    try:
        serve(app, corpus_assistant.settings, port=port, prevent_thread_lock=True, quiet=True)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert "/chat" in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        result = client.predict("What did the Istanbul Communiqué propose?", api_name="/chat")
        messages, sources, status, question_box, plain, export = result
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert "Istanbul Communiqué propose?" in _content_text(messages[0]["content"])
        reply = _content_text(messages[1]["content"])
        assert "NATO" in reply
        assert "(#cite-0-1)" in reply
        assert "Peace negotiations in the Russian invasion of Ukraine" in sources
        assert "<mark>" in sources and "</mark>" in sources
        assert "NATO" in re.search(r"<mark>(.*?)</mark>", sources, re.DOTALL).group(1)  # type: ignore[union-attr]
        assert "extractive" in status
        assert question_box == {"__type__": "update"}  # cleared by the first update, then left to the user
        assert "Sources:" in plain
        assert export["interactive"] is True  # the export button, updated with the file (served from its cache)
        assert Path(export["value"]).read_text(encoding="utf-8").startswith("# peacetalks conversation")
    finally:
        app.close()


def test_credentials_are_required_when_configured(corpus_assistant: Assistant) -> None:
    from gradio_client import Client

    from assistant.ui.app import build_app, serve

    settings = corpus_assistant.settings.model_copy(update={"auth": None})
    app = build_app(corpus_assistant)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        serve(app, settings, auth=[("analyst", "pw")], port=port, prevent_thread_lock=True, quiet=True)
        assert httpx.get(f"{url}/config").status_code == 401
        assert httpx.post(f"{url}/login", data={"username": "analyst", "password": "wrong"}).status_code == 400
        client = Client(f"{url}/", auth=("analyst", "pw"), verbose=False)
        assert "/chat" in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    finally:
        app.close()
