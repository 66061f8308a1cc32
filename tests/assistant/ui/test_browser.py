"""The web UI in a real browser: Playwright driving Debian's headless Chromium against the app on loopback.

Each step saves a screenshot under test-artifacts/ui/ (desktop 1280×800 and phone 390×844). Chromium runs with the
network mapped away except 127.0.0.1, so the page can load nothing from outside, and with its config and cache in
a temporary folder. Every test also checks that no payload from the hostile fixture article ever ran.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.models import Answer, SentenceCheck
from assistant.service import Assistant
from tests.assistant.ui.conftest import PAYLOAD_QUESTION, artifacts_dir

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("PEACETALKS_TEST_CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PUTIN = "What did Putin propose on 11 May 2025?"
UPLOADED = """---
title: "Lake Ohrid grain corridor memorandum"
publisher: "peacetalks test desk"
published: 2026-01-15
license: "test fixture"
---
The Lake Ohrid memorandum of 15 January 2026 committed both delegations to a humanitarian grain corridor through Izmail.

The corridor is supervised by a joint inspection centre in Varna, which reports to the Black Sea coordination cell.
"""
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test installs it)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium")
    env: dict[str, str | float | bool] = {**os.environ, "XDG_CONFIG_HOME": str(profile), "XDG_CACHE_HOME": str(profile)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
            env=env,
        )
        yield browser
        browser.close()


def open_page(browser: Any, url: str, viewport: dict[str, int]) -> Any:
    """A fresh browser context (its own Gradio session) on the app, failing on any dialog a payload might open."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []  # messages of unexpected dialogs (a payload's alert() would land here)
    page.expected_dialog = None  # text of the one confirm() the test means to accept

    def on_dialog(dialog: Any) -> None:
        if page.expected_dialog and page.expected_dialog in dialog.message:
            page.expected_dialog = None
            dialog.accept()
        else:
            page.dialogs.append(dialog.message)
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    page.wait_for_selector("#question textarea")
    return page


def shot(page: Any, name: str) -> None:
    page.wait_for_timeout(400)  # let Gradio's loading fade finish, so the picture shows what a user sees
    page.screenshot(path=str(artifacts_dir() / f"{name}.png"))


def assert_inert(page: Any) -> None:
    """No payload ran: nothing set window.__pwned, no dialog opened, no payload image or script is in the DOM."""
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.locator('img[src="x"]').count() == 0
    # (Gradio's own config script holds the payload strings JSON-escaped, "\u003cscript\u003e": that is data.)
    assert page.evaluate("[...document.scripts].some(s => /^\\s*window\\.__pwned/.test(s.textContent))") is False
    assert page.locator('a[href^="javascript:"]').count() == 0


def ask(page: Any, question: str) -> Any:
    """Ask in the chat and wait for the answer's first citation chip; returns the answer message."""
    before = page.locator("#chat .bot").count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(f"document.querySelectorAll('#chat .bot').length > {before}")
    answer = page.locator("#chat .bot").last
    answer.locator('a[href*="#cite-"]').first.wait_for()
    return answer


def overflow_x(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_answer_chip_opens_the_highlighted_passage(browser: Any, ui_url: str, ui_assistant: Assistant) -> None:
    page = open_page(browser, ui_url, DESKTOP)
    examples = page.locator("#chat .example")
    if examples.count():  # drawn from the store: the newest dated article's title is among them
        assert "Press statement by the President of Russia" in page.locator("#chat").inner_text()
    shot(page, "01-desktop-first-load")

    answer = ask(page, PUTIN)
    assert "Istanbul" in answer.inner_text()
    chip = answer.locator('a[href="#cite-0-1"]')
    assert chip.inner_text() == "[1]"
    assert "extractive" in page.locator("#status").inner_text()
    shot(page, "02-desktop-answer")

    chip.click()
    page.wait_for_selector("#sources .article-box .passage mark")
    sources = page.locator("#sources")
    assert "Press statement by the President of Russia Vladimir Putin" in sources.inner_text()
    assert "2025-05-11" in sources.inner_text()
    marked = sources.locator(".article-box mark").first.inner_text()
    assert "Istanbul" in marked
    # The highlight is the sentence the answer quotes, and the box scrolled to it.
    assert marked.strip()[:40] in answer.inner_text()
    assert sources.locator(".article-box").evaluate("b => b.scrollHeight > b.clientHeight")  # more text a scroll away
    box_visible = sources.locator(".article-box mark").first.evaluate(
        "m => { const b = m.closest('.article-box').getBoundingClientRect(), r = m.getBoundingClientRect();"
        " return r.top >= b.top - 1 && r.bottom <= b.bottom + 1; }"
    )
    assert box_visible
    assert page.url.rstrip("/") == ui_url.rstrip("/")  # the chip did not navigate
    shot(page, "03-desktop-chip-opens-source")

    # Copy answer and export the conversation.
    page.click("#copy-answer")
    page.wait_for_timeout(300)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Istanbul" in copied and "Sources:" in copied and "[1] Press statement" in copied
    with page.expect_download() as download:
        page.click("#export")
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith("# peacetalks conversation")
    assert f"## 1. {PUTIN}" in exported and "## References" in exported
    assert "1. Press statement by the President of Russia" in exported

    # A follow-up keeps context; new conversation clears it.
    follow = ask(page, "And where would they resume?")
    assert "Istanbul" in follow.inner_text()
    assert page.locator('#chat a[href^="#cite-1-"]').count() >= 1
    page.click("#new-conversation")
    page.wait_for_function("document.querySelectorAll('#chat .bot').length === 0")
    assert "Sources of the answer appear here" in page.locator("#sources").inner_text()
    assert overflow_x(page) <= 0
    assert_inert(page)
    page.context.close()


def test_phone_layout_is_usable(browser: Any, ui_url: str) -> None:
    page = open_page(browser, ui_url, PHONE)
    shot(page, "04-phone-first-load")
    answer = ask(page, PUTIN)
    assert overflow_x(page) <= 0, "the page scrolls sideways on a phone"
    shot(page, "05-phone-answer")
    answer.locator('a[href="#cite-0-1"]').click()
    page.wait_for_selector("#sources .article-box mark")
    # On a phone the source panel is below the chat: opening a source brings it into view.
    top = page.locator("#sources").evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= top < PHONE["height"] * 0.6
    assert overflow_x(page) <= 0
    shot(page, "06-phone-source")
    _corpus_tab(page)
    assert overflow_x(page) <= 0  # the table scrolls inside its own box
    shot(page, "06b-phone-corpus")
    page.context.close()


def test_unsupported_sentences_and_as_of_are_visible(
    browser: Any, ui_url: str, ui_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification's verdicts, drawn: a real answer whose second sentence is marked unsupported (a crafted check
    at that sentence's offsets), and an "as of" date."""
    real_stream = ui_assistant.stream
    cited: list[int] = []  # the flagged sentence's own citation number (it follows the retrieval order)

    def stream(question: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for item in real_stream(question, *args, **kwargs):
            if isinstance(item, Answer):
                start = item.text.index("On 24 February")
                cited.append(int(re.search(r"\[(\d+)\]", item.text[start:]).group(1)))  # type: ignore[union-attr]
                check = SentenceCheck(
                    item.text[start:], start, len(item.text), False, 0.12, cited[-1:], reason="off topic"
                )
                item = dataclasses.replace(item, checks=[check], groundedness=0.5, as_of="2025-05-11")
            yield item

    monkeypatch.setattr(ui_assistant, "stream", stream)
    page = open_page(browser, ui_url, DESKTOP)
    answer = ask(page, PUTIN)
    flagged = answer.locator(".unsupported")
    flagged.first.wait_for()
    assert flagged.inner_text().startswith("On 24 February 2022")
    assert "wavy" in flagged.evaluate("e => getComputedStyle(e).textDecorationStyle")
    assert flagged.get_attribute("title") == "Not supported: off topic"
    assert "⚠ unsupported" in answer.inner_text()
    assert "1 sentence is not supported by the passages cited" in answer.inner_text()
    assert "As of 2025-05-11" in answer.inner_text()
    assert "50% of checked sentences supported" in page.locator("#status").inner_text()
    assert flagged.locator(f'a[href="#cite-0-{cited[-1]}"]').count() == 1  # its chip still opens the source
    shot(page, "07-unsupported-and-as-of")
    page.context.close()


def test_script_payload_stays_inert(browser: Any, ui_url: str) -> None:
    page = open_page(browser, ui_url, DESKTOP)
    answer = ask(page, PAYLOAD_QUESTION)
    assert "<script>window.__pwned='script'</script>" in answer.inner_text()  # shown as text
    answer.locator('a[href*="#cite-"]').first.click()
    page.wait_for_selector("#sources .article-box mark")
    sources = page.locator("#sources").inner_text()
    assert "Ceasefire monitoring notes <img src=x" in sources
    assert "Payload Desk <script>" in sources
    assert "original" not in sources  # the javascript: source is not linked
    shot(page, "08-payload-in-chat-and-source")
    assert_inert(page)

    # The payload publisher is also a choice of the publisher filter.
    page.click("#filters button")
    page.click("#filter-publisher input")
    option = page.get_by_role("option", name=re.compile("Payload Desk"))
    assert "<script>window.__pwned='publisher'</script>" in option.inner_text()
    shot(page, "09-payload-in-publisher-filter")
    page.keyboard.press("Escape")
    assert_inert(page)

    _corpus_tab(page)
    table = page.locator("#corpus-table")
    table.get_by_text("Ceasefire monitoring notes", exact=False).first.click()
    page.wait_for_function("document.querySelector('#corpus-reader').innerText.includes('weekly report')")
    reader = page.locator("#corpus-reader").inner_text()
    assert "<img src=x onerror=" in reader and "[with a link](javascript:" in reader
    assert "![an image](http://evil.example/pixel.png)" in reader
    shot(page, "10-payload-in-corpus-reader")
    assert_inert(page)
    page.context.close()


def _corpus_tab(page: Any) -> None:
    page.get_by_role("tab", name="Corpus").click()
    page.wait_for_selector("#corpus-table")


def test_upload_then_ask_then_remove(browser: Any, ui_url: str, ui_assistant: Assistant, tmp_path: Path) -> None:
    page = open_page(browser, ui_url, DESKTOP)
    _corpus_tab(page)
    before = len(ui_assistant.store.list_articles())
    article = tmp_path / "lake_ohrid_memorandum.md"
    article.write_text(UPLOADED, encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(article))
    page.wait_for_function("document.querySelector('#upload-result').innerText.includes('Added')")
    result = page.locator("#upload-result").inner_text()
    assert "Added" in result and "uploads/lake_ohrid_memorandum.md" in result
    page.wait_for_function(
        "document.querySelector('#corpus-table').innerText.includes('Lake Ohrid grain corridor memorandum')"
    )
    assert f"{before + 1} articles" in page.locator("#corpus-summary").inner_text()
    shot(page, "11-upload-in-corpus-tab")

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "What did the Lake Ohrid memorandum commit the delegations to?")
    assert "Izmail" in answer.inner_text()
    answer.locator('a[href*="#cite-"]').first.click()
    page.wait_for_selector("#sources .article-box mark")
    assert "Lake Ohrid grain corridor memorandum" in page.locator("#sources").inner_text()
    assert "uploads/lake_ohrid_memorandum.md" in page.locator("#sources").inner_text()
    shot(page, "12-answer-from-upload")

    _corpus_tab(page)
    page.locator("#corpus-table").get_by_text("Lake Ohrid grain corridor memorandum").first.click()
    page.wait_for_selector("#remove", state="visible")
    page.expected_dialog = "Remove uploads/lake_ohrid_memorandum.md from the corpus?"
    page.click("#remove")
    page.wait_for_function("document.querySelector('#upload-result').innerText.includes('Removed')")
    assert ui_assistant.store.get_article("uploads/lake_ohrid_memorandum.md") is None
    assert len(ui_assistant.store.list_articles()) == before
    assert not (ui_assistant.settings.data_dir / "uploads" / "lake_ohrid_memorandum.md").exists()
    assert page.dialogs == []
    page.context.close()


def test_bad_uploads_show_errors_and_change_nothing(
    browser: Any, ui_url: str, ui_assistant: Assistant, tmp_path: Path
) -> None:
    page = open_page(browser, ui_url, DESKTOP)
    _corpus_tab(page)
    before = [r.article_id for r in ui_assistant.store.list_articles()]
    empty = tmp_path / "empty_notes.md"
    empty.write_bytes(b"")
    binary = tmp_path / "tool.exe"
    binary.write_bytes(b"MZ\x90\x00" * 64)
    fake_pdf = tmp_path / "scan.pdf"
    fake_pdf.write_bytes(b"this is not a PDF at all")
    page.locator("#upload input[type=file]").set_input_files([str(empty), str(binary), str(fake_pdf)])
    page.wait_for_function("(document.querySelector('#upload-result').innerText.match(/Not added/g) || []).length == 3")
    result = page.locator("#upload-result").inner_text()
    assert "Not added: 'empty_notes.md': the file is empty" in result
    assert "Not added: 'tool.exe': unsupported file type '.exe'" in result
    assert "Not added: 'scan.pdf': " in result and "PDF" in result.split("scan.pdf")[1]
    assert "Added" not in result
    shot(page, "13-bad-upload-errors")
    assert [r.article_id for r in ui_assistant.store.list_articles()] == before
    uploads = ui_assistant.settings.data_dir / "uploads"
    assert not uploads.exists() or [p.name for p in uploads.iterdir()] == []
    page.context.close()
