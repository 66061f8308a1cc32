"""``peacetalks chat``: the Gradio web UI — a chat on the left, the cited sources with highlights on the right.

Each browser session keeps its own conversation in ``gr.State`` (follow-ups are rewritten with it), so users never
see each other's history. Binds 127.0.0.1 by default and never creates a public share link.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.chat import Turn
from assistant.config import Settings
from assistant.models import Answer
from assistant.offline import apply_offline_environment
from assistant.service import Assistant, QuestionError, build_assistant
from assistant.store import StoreError
from assistant.ui.render import escape_answer, escape_text, sources_markdown, status_markdown

EXAMPLE_QUESTIONS = [
    "What did the Istanbul Communiqué propose?",
    "When did the first round of talks in 2022 take place?",
    "What did Putin propose on 11 May 2025?",
    "What did the US and Ukraine agree in Jeddah?",
]

Messages = list[dict[str, str]]


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Blocks app around one assistant (built once, shared by all sessions; it holds no per-user state)."""

    def respond(
        question: str, messages: Messages | None, turns: list[Turn] | None
    ) -> Iterator[tuple[Messages, str, str, list[Turn], str]]:
        messages, turns = list(messages or []), list(turns or [])
        messages.append({"role": "user", "content": escape_text(question or "")})
        messages.append({"role": "assistant", "content": "…"})
        yield messages, gr.skip(), "", turns, ""
        partial = ""
        answer: Answer | None = None
        try:
            for item in assistant.stream(question, history=turns):
                if isinstance(item, Answer):
                    answer = item
                else:
                    partial += item
                    messages[-1] = {"role": "assistant", "content": escape_answer(partial)}
                    yield messages, gr.skip(), "", turns, ""
        except (QuestionError, StoreError) as error:
            messages[-1] = {"role": "assistant", "content": f"⚠ {escape_text(str(error))}"}
            yield messages, gr.skip(), "", turns, ""
            return
        assert answer is not None
        messages[-1] = {"role": "assistant", "content": escape_answer(answer.text)}
        turns.append(Turn(question, answer.text, answer.retrieval_query))
        yield messages, sources_markdown(answer), status_markdown(answer), turns, ""

    def new_conversation() -> tuple[Messages, str, str, list[Turn], str]:
        return [], sources_markdown(None), "", [], ""

    with gr.Blocks(title="peacetalks", analytics_enabled=False) as app:
        gr.Markdown(
            "## peacetalks\nQuestions about the Russia–Ukraine peace negotiations, answered from the curated corpus. "
            "Every claim cites its source: check it on the right."
        )
        turns = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    height=520,
                    sanitize_html=True,
                    allow_tags=False,
                    buttons=["copy", "copy_all"],
                    feedback_options=None,
                    elem_id="chat",
                )
                status = gr.Markdown("", elem_id="status")
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask about the talks, a party's stance, an agreement…",
                        show_label=False,
                        scale=5,
                        max_length=assistant.settings.max_question_chars,
                        elem_id="question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
                gr.Examples(EXAMPLE_QUESTIONS, inputs=question, label="Try")
            with gr.Column(scale=2, min_width=300):
                sources = gr.Markdown(sources_markdown(None), label="Sources", elem_id="sources")

        outputs = [chatbot, sources, status, turns, question]
        send.click(respond, [question, chatbot, turns], outputs, api_name="chat")
        question.submit(respond, [question, chatbot, turns], outputs, api_visibility="private")
        new.click(new_conversation, None, outputs, api_visibility="private")
    return app


def launch(settings: Settings, **launch_kwargs: Any) -> gr.Blocks:
    """Build the assistant and serve the UI on ``settings.host:settings.port`` (loopback by default)."""
    apply_offline_environment()
    app = build_app(build_assistant(settings))
    app.queue(default_concurrency_limit=4)
    app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        inbrowser=False,
        show_error=False,
        **launch_kwargs,
    )
    return app
