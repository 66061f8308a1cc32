"""The Chat tab's Python side over the whole real corpus: streaming, chips, the source panel, filters, follow-ups,
new conversation, copy and export, without a browser (the browser tests check the same flows end to end)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from assistant.models import Citation
from assistant.service import Assistant
from assistant.ui.chat_tab import ALL_PUBLISHERS, ChatHandlers, describe_filters, make_filters, render_messages
from assistant.ui.conversation import Conversation, Exchange
from assistant.ui.render import EMPTY_SOURCES

pytestmark = pytest.mark.slow

ISTANBUL = "What did the Istanbul Communiqué propose?"


def _final(handlers: ChatHandlers, question: str, conversation: Conversation | None = None, **filters: Any) -> Any:
    return list(handlers.respond(question, conversation, **filters))[-1]


def test_respond_streams_an_answer_with_chips_and_sources(corpus_assistant: Assistant) -> None:
    handlers = ChatHandlers(corpus_assistant)
    outputs = list(handlers.respond(ISTANBUL, None))
    assert len(outputs) >= 2  # the question shows at once, then the answer
    assert outputs[0][0][-1] == {"role": "assistant", "content": "…"}  # the question shows before the answer
    assert outputs[0][4] == ""  # the question box is cleared at once...
    messages, sources, status, conversation, question_box, plain, export = outputs[-1]
    assert question_box == {"__type__": "update"}  # ...and then left alone: the user may be typing the next one
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "What did the Istanbul Communiqué propose?"
    assert "NATO" in messages[1]["content"] and "[\\[1\\]](#cite-0-1)" in messages[1]["content"]
    assert "<mark>" in sources and "(#cite-0-1)" in sources
    assert "extractive" in status
    assert len(conversation.exchanges) == 1 and conversation.exchanges[0].answer is not None
    assert plain.startswith(conversation.exchanges[0].answer.text) and "\nSources:\n[1] " in plain
    assert export["interactive"] is True
    exported = Path(export["value"]).read_text(encoding="utf-8")
    assert f"## 1. {ISTANBUL}" in exported and "## References" in exported


def test_follow_ups_use_the_conversation_and_new_conversation_clears_it(corpus_assistant: Assistant) -> None:
    handlers = ChatHandlers(corpus_assistant)
    conversation = _final(handlers, "What did Putin propose on 11 May 2025?")[3]
    messages, _, _, conversation, *_ = _final(handlers, "And where would they resume?", conversation)
    follow = conversation.exchanges[1].answer
    assert follow is not None and "follow-up to: What did Putin propose" in (follow.retrieval_query or "")
    assert "Istanbul" in follow.text
    assert len(messages) == 4 and "(#cite-1-1)" in messages[3]["content"]
    assert "(#cite-0-1)" in messages[1]["content"]  # earlier answers keep their own chips
    cleared = handlers.new_conversation()
    assert cleared[0] == [] and cleared[1] == EMPTY_SOURCES and cleared[3].exchanges == []
    assert cleared[6]["value"] is None and cleared[6]["interactive"] is False


def test_open_citation_shows_the_passage_in_its_article(corpus_assistant: Assistant) -> None:
    handlers = ChatHandlers(corpus_assistant)
    conversation = _final(handlers, ISTANBUL)[3]
    citation: Citation = conversation.exchanges[0].answer.citations[0]
    card = handlers.open_citation("0-1", conversation)
    assert card.startswith("#### [\\[1\\]](#cite-0-1) ")
    assert '<div class="article-box">' in card and '<div class="passage">' in card
    marked = re.findall(r"<mark>(.*?)</mark>", card)
    assert marked and "NATO" in "".join(marked)
    # The article text around the passage is there (the passage is not at the very start of the article).
    box = card.split('<div class="article-box">', 1)[1]
    assert box.index('<div class="passage">') > 0 if citation.passage_start > 0 else True
    assert handlers.open_citation("0-all", conversation).count("#### ") == len(
        conversation.exchanges[0].answer.citations
    )
    assert "not part of this conversation" in handlers.open_citation("0-99", conversation)
    assert "not part of this conversation" in handlers.open_citation("5-1", conversation)
    assert handlers.open_citation("<script>", conversation) == EMPTY_SOURCES
    assert handlers.open_citation("0-1", None).startswith("*That source")


def test_a_changed_article_falls_back_to_the_cited_passage(corpus_assistant: Assistant) -> None:
    handlers = ChatHandlers(corpus_assistant)
    conversation = _final(handlers, ISTANBUL)[3]
    answer = conversation.exchanges[0].answer
    stale = Citation(**{**answer.citations[0].__dict__, "passage": "Text the article no longer holds."})
    conversation.exchanges[0].answer.citations[0] = stale
    card = handlers.open_citation("0-1", conversation)
    assert "no longer in the store" in card and "Text the article no longer holds" in card


def test_filters_apply_to_retrieval(corpus_assistant: Assistant) -> None:
    handlers = ChatHandlers(corpus_assistant)
    publishers = handlers.publishers()
    assert publishers[0] == ALL_PUBLISHERS and len(publishers) > 5
    kremlin = next(p for p in publishers if p.startswith("President of Russia"))
    _, _, status, conversation, *_ = _final(handlers, "What did Putin propose?", publisher=kremlin)
    answer = conversation.exchanges[0].answer
    assert answer.citations and {c.publisher for c in answer.citations} == {kremlin}
    assert "Filters: publisher President of Russia" in status
    question = "What did the US and Ukraine agree in Jeddah?"
    dated = _final(handlers, question, since="2025-01-01", until="2025-12-31")[3].exchanges[0].answer
    days = [e.chunk.metadata.published for e in dated.evidence]
    assert days and all(d and d.startswith("2025") for d in days)  # undated articles are left out too
    before = _final(handlers, question, until="2024-12-31")[3].exchanges[0].answer
    assert all(e.chunk.metadata.published and e.chunk.metadata.published < "2025" for e in before.evidence)

    messages, _, _, conversation, *_ = _final(handlers, "What was agreed?", since="last May")
    assert messages[-1]["content"].startswith("⚠ Filters\\: dates must be ISO")
    assert conversation.exchanges[-1].answer is None


def test_filter_helpers() -> None:
    assert make_filters(ALL_PUBLISHERS, "", " ", False).active is False
    filters = make_filters("Kremlin", "2025-01-01", "", True)
    assert describe_filters(filters) == "publisher Kremlin · published 2025-01-01 to … · undated articles included"
    with pytest.raises(ValueError, match="ISO"):
        make_filters(None, "2025-13", None, False)


def test_errors_show_in_the_chat_and_keep_the_conversation(corpus_assistant: Assistant) -> None:
    handlers = ChatHandlers(corpus_assistant)
    messages, _, _, conversation, *_ = _final(handlers, "   ")
    assert messages[-1]["content"].startswith("⚠ The question is empty")
    assert conversation.turns() == []
    pending = Conversation([Exchange("<b>q</b>")])
    assert render_messages(pending, partial="Partial [1] <i>x</i>") == [
        {"role": "user", "content": "&lt;b&gt;q&lt;/b&gt;"},
        {"role": "assistant", "content": "Partial [\\[1\\]](#cite-0-1) &lt;i&gt;x&lt;/i&gt;"},
    ]


def test_examples_are_drawn_from_the_store(corpus_assistant: Assistant) -> None:
    examples = [e["text"] for e in ChatHandlers(corpus_assistant).examples()]
    titles = [r.title for r in corpus_assistant.store.list_articles()]
    assert 2 <= len(examples) <= 4
    quoted = [re.search(r"“(.*?)…?”", e) for e in examples]
    assert all(any(t.startswith(m.group(1).rstrip("…")) for t in titles) for m in quoted if m)
