"""The Corpus tab: what is ingested (searchable, sortable, each article readable), uploads, removal, re-ingest.

Uploads and removals go through ``assistant.ui.uploads`` (checks, staging, rollback) and the same ingest pipeline
as ``peacetalks ingest``, on the store the chat reads: an uploaded article can be asked about at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from assistant.service import Assistant
from assistant.ui.articles import load_article_text
from assistant.ui.assets import CONFIRM_REMOVE_JS
from assistant.ui.chat_tab import ChatHandlers, ChatView
from assistant.ui.render import article_markdown, escape_text
from assistant.ui.uploads import UPLOAD_SUFFIXES, UploadError, Uploads
from ingest.pipeline import IngestPipeline, build_ingest_pipeline

HEADERS = ["Title", "Publisher", "Date", "Chunks", "Licence"]
READER_EMPTY = "*Select an article in the table to read it.*"


class CorpusHandlers:
    """The Python side of the Corpus tab."""

    def __init__(self, assistant: Assistant, chat: ChatHandlers) -> None:
        self.assistant = assistant
        self.store = assistant.store
        self.settings = assistant.settings
        self.chat = chat
        self._pipeline: IngestPipeline | None = None
        self._pipeline_lock = threading.Lock()
        self.uploads = Uploads(self.settings, self.store, self.pipeline)

    def pipeline(self) -> IngestPipeline:
        """Built on first use (it loads the tokenizer); progress bars on, so ``gr.Progress`` can follow them."""
        with self._pipeline_lock:
            if self._pipeline is None:
                self._pipeline = build_ingest_pipeline(self.settings, self.store, show_progress=True)
            return self._pipeline

    def table(self) -> pd.DataFrame:
        rows = [
            [r.title, r.publisher, r.published or "undated", r.n_chunks, r.license] for r in self.store.list_articles()
        ]
        return pd.DataFrame(rows, columns=HEADERS)

    def summary(self) -> str:
        records = self.store.list_articles()
        return f"**{len(records)} articles**, {sum(r.n_chunks for r in records)} passages indexed."

    def _refreshed(self) -> tuple[Any, ...]:
        """Table, summary, the chat's publisher list and its example questions, after the corpus changed."""
        return (
            self.table(),
            self.summary(),
            gr.update(choices=self.chat.publishers()),
            gr.update(examples=self.chat.examples()),
        )

    def open_article(self, event: gr.SelectData) -> tuple[str, str, Any]:
        """A table row was clicked (the table may be sorted or searched): find its article by its cells."""
        row = [str(v) for v in event.row_value or []]
        for r in self.store.list_articles():
            if row[:3] == [r.title, r.publisher, r.published or "undated"]:
                return self.read(r.article_id)
        return self.read("")

    def read(self, article_id: str) -> tuple[str, str, Any]:
        record = self.store.get_article(article_id) if article_id else None
        if record is None:
            return READER_EMPTY, "", gr.update(visible=False)
        text = load_article_text(self.store, article_id)
        reader = article_markdown(record.title, record.publisher, record.published, record.source, record.license, text)
        about = f"{escape_text(article_id)} · {record.n_chunks} passages · ingested {record.ingested_at}"
        reader += f"\n\n<small>{about}</small>"
        return reader, article_id, gr.update(visible=True)

    def add_files(self, files: list[str] | None, progress: gr.Progress | None = None) -> tuple[Any, ...]:
        """Ingest each uploaded file on its own: one bad file is reported and changes nothing; the others land."""
        paths = [Path(f) for f in files or []]
        lines: list[str] = []
        for index, path in enumerate(paths):
            if progress is not None:
                progress((index, len(paths)), desc=f"Ingesting {path.name}")
            try:
                result = self.uploads.add(path, path.name)
            except UploadError as error:
                lines.append(f"✗ **Not added:** {escape_text(str(error))}")
                continue
            verb = {"added": "Added", "updated": "Replaced", "unchanged": "Already in the corpus, unchanged:"}
            lines.append(
                f"✓ {verb[result.status]} **{escape_text(result.name)}** ({result.chunks} passages) as "
                f"<code>{escape_text(result.article_id)}</code>. Ask about it in the Chat tab."
            )
        message = "\n\n".join(lines) or "*No file was uploaded.*"
        return (message, None, *self._refreshed())

    def remove(self, article_id: str) -> tuple[Any, ...]:
        if not article_id:
            return ("*Removal cancelled.*", gr.skip(), gr.skip(), *self._refreshed())
        try:
            chunks = self.uploads.remove(article_id)
        except UploadError as error:
            return (f"✗ {escape_text(str(error))}", gr.skip(), gr.skip(), *self._refreshed())
        note = ""
        if not article_id.startswith("uploads/"):
            note = " Its file is still in the corpus folder: re-ingesting the folder brings it back."
        message = f"Removed <code>{escape_text(article_id)}</code> ({chunks} passages).{escape_text(note)}"
        return (message, READER_EMPTY, "", gr.update(visible=False), *self._refreshed())

    def reingest(self, progress: gr.Progress | None = None) -> tuple[Any, ...]:
        """Re-sync the corpus folder (adds, updates, and deletes what the folder no longer holds)."""
        if progress is not None:
            progress(0, desc=f"Re-ingesting {self.settings.corpus_dir}")
        report = self.pipeline().run([self.settings.corpus_dir])
        folder = escape_text(str(self.settings.corpus_dir))
        lines = [f"Re-ingested <code>{folder}</code>: {escape_text(report.summary())}"]
        lines += [f"✗ {escape_text(str(problem))}" for problem in report.errors]
        return ("\n\n".join(lines), *self._refreshed())


def build_corpus_tab(handlers: CorpusHandlers, chat: ChatView) -> None:
    """Lay out the Corpus tab inside the current Blocks context and wire its events."""
    # The selected article's id: a hidden textbox rather than gr.State, because the removal's confirm() runs in the
    # browser and needs the id there.
    selected = gr.Textbox(visible="hidden", elem_id="selected-article")
    summary = gr.Markdown(handlers.summary(), elem_id="corpus-summary")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=340):
            table = gr.Dataframe(
                value=handlers.table(),
                headers=HEADERS,
                datatype=["str", "str", "str", "number", "str"],
                interactive=False,
                show_search="search",
                wrap=True,
                max_chars=60,  # long publishers and licences are cut in the table; the reader shows them whole
                max_height=380,
                # Fixed widths that fit the desktop column; on a phone the table scrolls sideways in its box.
                column_widths=["250px", "180px", "96px", "72px", "118px"],
                elem_id="corpus-table",
            )
        with gr.Column(scale=2, min_width=300):
            reader = gr.Markdown(READER_EMPTY, elem_id="corpus-reader", latex_delimiters=[], max_height=560)
            remove = gr.Button("Remove this article", variant="stop", size="sm", visible=False, elem_id="remove")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            limit = handlers.settings.max_upload_bytes / 1_000_000
            upload = gr.File(
                label=f"Add articles: {', '.join(UPLOAD_SUFFIXES)} up to {limit:g} MB each",
                file_count="multiple",
                type="filepath",
                height=140,
                elem_id="upload",
            )
        with gr.Column(scale=2, min_width=300):
            result = gr.Markdown("", elem_id="upload-result", latex_delimiters=[])
            reingest = gr.Button("Re-ingest the corpus folder", size="sm", elem_id="reingest")

    refreshed = [table, summary, chat.publisher, chat.chatbot]
    table.select(handlers.open_article, None, [reader, selected, remove], api_visibility="private")
    upload.upload(_with_progress(handlers.add_files), upload, [result, upload, *refreshed], api_visibility="private")
    remove.click(
        handlers.remove,
        selected,
        [result, reader, selected, remove, *refreshed],
        js=CONFIRM_REMOVE_JS,
        api_visibility="private",
    )
    reingest.click(
        _with_progress(handlers.reingest, takes_files=False), None, [result, *refreshed], api_visibility="private"
    )


def _with_progress(method: Any, takes_files: bool = True) -> Any:
    """Gradio finds ``gr.Progress`` by a parameter default; this gives the handler one that follows tqdm bars."""
    if takes_files:

        def files_handler(files: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008
            return method(files, progress)

        return files_handler

    def handler(progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008
        return method(progress)

    return handler
