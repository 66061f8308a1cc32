"""``peacetalks chat``: the Gradio web UI. Tabs: Chat (answers with citation chips and the source beside them),
Corpus (the ingested articles, uploads), then whatever extra views are registered (the analyst tabs).

One ``Assistant`` serves every browser session; each session keeps its own conversation in ``gr.State``, so users
never see each other's history. Binds 127.0.0.1 by default; any other address needs credentials or an explicit
``--insecure-no-auth`` (see ``auth.py``). Never creates a public share link, and sends no telemetry.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.offline import apply_offline_environment
from assistant.service import Assistant, build_assistant
from assistant.ui.assets import CSS, HEAD
from assistant.ui.auth import Credentials, resolve_auth
from assistant.ui.chat_tab import ChatHandlers, build_chat_tab
from assistant.ui.corpus_tab import CorpusHandlers, build_corpus_tab

# An extra tab: its title, and a function that lays out its content inside the current Blocks context.
TabBuilder = tuple[str, Callable[[Assistant], None]]


def registered_tabs() -> list[TabBuilder]:
    """Tabs shown after Chat and Corpus, in order: the analyst views (stance board, timeline) of
    ``assistant/ui/analyst.py``, built at ingest time and read here."""
    from assistant.ui.analyst import ANALYST_TABS

    return list(ANALYST_TABS)


def build_app(assistant: Assistant, extra_tabs: Sequence[TabBuilder] | None = None) -> gr.Blocks:
    """The Blocks app around one assistant (built once, shared by all sessions; it holds no per-user state)."""
    chat_handlers = ChatHandlers(assistant)
    corpus_handlers = CorpusHandlers(assistant, chat_handlers)
    with gr.Blocks(title="peacetalks", analytics_enabled=False, fill_width=True) as app:
        gr.Markdown(
            "**peacetalks** · questions about the Russia–Ukraine peace negotiations, answered from the curated "
            "corpus. Every claim cites its source: click a number to check it.",
            elem_id="header",
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"):
                chat_view = build_chat_tab(chat_handlers, assistant.settings.max_question_chars)
            with gr.Tab("Corpus", id="corpus-tab", elem_id="corpus-tab"):
                build_corpus_tab(corpus_handlers, chat_view)
            # Extra views (the analyst tabs) go after the two core tabs.
            for title, build in registered_tabs() if extra_tabs is None else extra_tabs:
                with gr.Tab(title):
                    build(assistant)
        app.load(
            lambda: (gr.update(examples=chat_handlers.examples()), gr.update(choices=chat_handlers.publishers())),
            None,
            [chat_view.chatbot, chat_view.publisher],
            api_visibility="private",
        )
    return app


def serve(
    app: gr.Blocks,
    settings: Settings,
    auth: Credentials | None = None,
    *,
    port: int | None = None,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> None:
    """Launch on ``settings.host`` with our CSS and script; tests call this too, so they test what users get."""
    app.queue(default_concurrency_limit=4)
    app.launch(
        server_name=settings.host,
        server_port=port if port is not None else settings.port,
        auth=auth,
        auth_message="peacetalks: log in with the credentials from PEACETALKS_AUTH or PEACETALKS_AUTH_FILE.",
        share=False,
        inbrowser=False,
        show_error=False,
        max_file_size=settings.max_upload_bytes,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        footer_links=["api"],
        run_history=False,  # it would keep questions in the browser's storage
        enable_monitoring=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        css=CSS,
        head=HEAD,
    )


def launch(settings: Settings, insecure_no_auth: bool = False, **kwargs: Any) -> gr.Blocks:
    """Check the bind address against the credentials first (fails fast, before loading any model), then build
    the assistant and serve the UI. ``kwargs`` go to ``serve``."""
    apply_offline_environment()
    auth, warning = resolve_auth(settings, insecure_no_auth)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    app = build_app(build_assistant(settings))
    serve(app, settings, auth, **kwargs)
    return app
