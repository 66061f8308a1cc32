"""The Chat tab: streamed answers with citation chips, the source panel beside them, filters, copy and export.

Every handler works from the session's ``Conversation`` (``gr.State``): the chat display is re-rendered from it,
follow-ups get its turns as history, a chip click resolves against it. The handlers are methods of ``ChatHandlers``
so tests can call them without a browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components.chatbot import ExampleMessage

from assistant.models import Answer
from assistant.retrieval import RetrievalFilters
from assistant.service import Assistant, QuestionError
from assistant.store import StoreError
from assistant.ui.articles import ArticleText, load_article_text
from assistant.ui.assets import CITE_OPEN_ID, CITE_REQUEST_ID, COPY_JS, REVEAL_JS
from assistant.ui.conversation import Conversation, Exchange
from assistant.ui.examples import example_questions
from assistant.ui.export import plain_answer, write_export
from assistant.ui.render import (
    EMPTY_SOURCES,
    answer_markdown,
    escape_answer,
    escape_text,
    source_card,
    sources_markdown,
    status_markdown,
)

ALL_PUBLISHERS = "All publishers"
Messages = list[dict[str, str]]
_REF = re.compile(r"^(\d+)-(\d+|all)$")


def make_filters(
    publisher: str | None, since: str | None, until: str | None, include_undated: bool
) -> RetrievalFilters:
    """The retrieval filters from the form; ValueError (with the reason) for a malformed date."""
    filters = RetrievalFilters(
        publisher=publisher if publisher and publisher != ALL_PUBLISHERS else None,
        date_from=(since or "").strip() or None,
        date_to=(until or "").strip() or None,
        include_undated=bool(include_undated),
    )
    filters.to_where()  # validates the dates
    return filters


def describe_filters(filters: RetrievalFilters) -> str:
    """ "publisher X · 2024-01-01 to … · undated included", or "" when no filter is set."""
    parts = []
    if filters.publisher:
        parts.append(f"publisher {filters.publisher}")
    if filters.date_from or filters.date_to:
        parts.append(f"published {filters.date_from or '…'} to {filters.date_to or '…'}")
        parts.append("undated articles included" if filters.include_undated else "undated articles left out")
    return " · ".join(parts)


def render_messages(conversation: Conversation, partial: str | None = None) -> Messages:
    """The Chatbot's messages, re-rendered from the conversation (``partial``: the answer being streamed)."""
    messages: Messages = []
    last = len(conversation.exchanges) - 1
    for turn, ex in enumerate(conversation.exchanges):
        messages.append({"role": "user", "content": escape_text(ex.question)})
        if ex.answer is not None:
            content = answer_markdown(ex.answer, turn)
        elif ex.error is not None:
            content = f"⚠ {escape_text(ex.error)}"
        elif turn == last and partial:
            content = escape_answer(partial, turn)
        else:
            content = "…"
        messages.append({"role": "assistant", "content": content})
    return messages


@dataclass
class ChatView:
    """The tab's components other parts of the app update (the corpus tab refreshes the publisher list)."""

    chatbot: gr.Chatbot
    publisher: gr.Dropdown


class ChatHandlers:
    """The Python side of the Chat tab, around one shared (stateless) assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def publishers(self) -> list[str]:
        return [ALL_PUBLISHERS, *sorted({r.publisher for r in self.assistant.store.list_articles() if r.publisher})]

    def examples(self) -> list[ExampleMessage]:
        return [ExampleMessage(text=q) for q in example_questions(self.assistant.store.list_articles())]

    def respond(
        self,
        question: str,
        conversation: Conversation | None,
        publisher: str | None = ALL_PUBLISHERS,
        since: str | None = "",
        until: str | None = "",
        include_undated: bool = False,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer. Yields (chat, sources, status, conversation, question box, plain answer, export).

        The question box is cleared by the first yield and then left alone (``gr.skip()``), so a user can type the
        next question while this answer streams; API callers see that output as an empty update."""
        conversation = conversation if conversation is not None else Conversation()
        history = conversation.turns()
        exchange = Exchange(question=(question or "").strip())
        conversation.exchanges.append(exchange)
        skip = gr.skip()
        try:
            filters = make_filters(publisher, since, until, include_undated)
        except ValueError as error:
            exchange.error = f"Filters: {error}"
            yield render_messages(conversation), skip, "", conversation, "", skip, skip
            return
        exchange.filters = describe_filters(filters)
        yield render_messages(conversation), skip, "", conversation, "", skip, skip
        partial, answer = "", None
        try:
            for item in self.assistant.stream(question, history=history, filters=filters):
                if isinstance(item, Answer):
                    answer = item
                else:
                    partial += item
                    yield render_messages(conversation, partial), skip, "", skip, skip, skip, skip
        except (QuestionError, StoreError) as error:
            exchange.error = str(error)
            yield render_messages(conversation), skip, "", conversation, skip, skip, skip
            return
        assert answer is not None
        exchange.answer = answer
        turn = len(conversation.exchanges) - 1
        conversation.export_path = write_export(conversation, previous=conversation.export_path)
        status = status_markdown(answer)
        if exchange.filters:
            status += f"  \n<small>Filters: {escape_text(exchange.filters)}</small>"
        yield (
            render_messages(conversation),
            sources_markdown(answer, turn),
            status,
            conversation,
            skip,
            plain_answer(answer),
            gr.update(value=conversation.export_path, interactive=True),
        )

    def new_conversation(self) -> tuple[Any, ...]:
        return [], EMPTY_SOURCES, "", Conversation(), gr.skip(), "", gr.update(value=None, interactive=False)

    def open_citation(self, ref: str, conversation: Conversation | None) -> str:
        """The source panel for a clicked chip "T-N" (or "T-all": every source of answer T)."""
        match = _REF.match((ref or "").strip())
        conversation = conversation or Conversation()
        if not match:
            return EMPTY_SOURCES
        turn = int(match.group(1))
        if match.group(2) == "all":
            answer = conversation.exchanges[turn].answer if turn < len(conversation.exchanges) else None
            return sources_markdown(answer, turn) if answer else EMPTY_SOURCES
        citation = conversation.citation(turn, int(match.group(2)))
        if citation is None:
            return "*That source is not part of this conversation any more (was it reset?).*"
        article: ArticleText | None = load_article_text(self.assistant.store, citation.article_id)
        if article is not None and article.slice(citation.passage_start, citation.passage_end) != citation.passage:
            article = None  # re-ingested with other text since: the offsets no longer point at the passage
        return source_card(citation, article, turn)


def build_chat_tab(handlers: ChatHandlers, max_question_chars: int) -> ChatView:
    """Lay out the Chat tab inside the current Blocks context and wire its events."""
    conversation = gr.State(Conversation())
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=340):
            chatbot = gr.Chatbot(
                label="Conversation",
                height=440,
                sanitize_html=True,
                allow_tags=False,
                latex_delimiters=[],
                buttons=[],
                feedback_options=None,
                examples=handlers.examples(),
                placeholder="**Ask about the peace negotiations.** Every claim cites its source: click a "
                "number to check it.",
                elem_id="chat",
            )
            status = gr.Markdown("", elem_id="status", latex_delimiters=[])
            with gr.Row():
                question = gr.Textbox(
                    placeholder="Ask about the talks, a party's stance, an agreement…",
                    show_label=False,
                    scale=5,
                    max_length=max_question_chars,
                    elem_id="question",
                )
                ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
            with gr.Row(elem_id="chat-actions"):
                new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
                copy = gr.Button("Copy answer", size="sm", elem_id="copy-answer")
                export = gr.DownloadButton(
                    "Export Markdown", size="sm", value=None, interactive=False, elem_id="export"
                )
            with gr.Accordion("Filters", open=False, elem_id="filters"):
                publisher = gr.Dropdown(
                    choices=handlers.publishers(),
                    value=ALL_PUBLISHERS,
                    label="Publisher",
                    allow_custom_value=True,
                    elem_id="filter-publisher",
                )
                with gr.Row():
                    # value="" (not None), so API callers may leave the filters out.
                    since = gr.Textbox("", label="Published from", placeholder="YYYY-MM-DD", elem_id="filter-since")
                    until = gr.Textbox("", label="Published until", placeholder="YYYY-MM-DD", elem_id="filter-until")
                include_undated = gr.Checkbox(label="Keep undated articles in a date range", value=False)
        with gr.Column(scale=2, min_width=300, elem_id="source-column"):
            gr.Markdown("**Sources**", elem_id="sources-title")
            sources = gr.Markdown(
                EMPTY_SOURCES, label="Sources", elem_id="sources", latex_delimiters=[], max_height=760
            )
    # The chip bridge (see assets.py): present in the page, never shown.
    cite_request = gr.Textbox(visible="hidden", elem_id=CITE_REQUEST_ID)
    cite_open = gr.Button(visible="hidden", elem_id=CITE_OPEN_ID)
    answer_text = gr.Textbox(visible="hidden", elem_id="answer-plain")

    inputs = [question, conversation, publisher, since, until, include_undated]
    outputs = [chatbot, sources, status, conversation, question, answer_text, export]
    ask.click(handlers.respond, inputs, outputs, api_name="chat")
    question.submit(handlers.respond, inputs, outputs, api_visibility="private")
    chatbot.example_select(_example_text, None, question, api_visibility="private").then(
        handlers.respond, inputs, outputs, api_visibility="private"
    )
    new.click(handlers.new_conversation, None, outputs, api_visibility="private")
    chatbot.clear(handlers.new_conversation, None, outputs, api_visibility="private")  # its own trash button
    copy.click(None, [answer_text], None, js=COPY_JS)
    cite_open.click(handlers.open_citation, [cite_request, conversation], sources, api_visibility="private").then(
        None, None, None, js=REVEAL_JS
    )
    return ChatView(chatbot=chatbot, publisher=publisher)


def _example_text(event: gr.SelectData) -> str:
    value = event.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value)
