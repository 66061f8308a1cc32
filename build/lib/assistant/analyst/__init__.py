"""Analyst views over the corpus: a stance board (party × issue) and a timeline of dated events.

Both are built from the store at ingest time, stored with the corpus state under ``<data dir>/views``, and
refreshed incrementally (``state.ViewsBuilder``): only added or changed articles are read again, only the board
cells whose candidate statements changed are recomputed, and each refresh reports what is new.

* ``stances`` — who holds which position on which issue, statements with citations and dates, newest first;
* ``timeline`` — dated events, deduplicated across articles, with conflicting dates flagged;
* ``state`` — persistence, incremental refresh and the "what's new" diff;
* ``render`` — the terminal tables; ``assistant.ui.analyst`` — the web UI tabs.
"""
