"""``peacetalks``: one command line for ingesting, asking, chatting and housekeeping.

Every sub-command builds one ``Settings`` from ``PEACETALKS_*`` env vars overridden by its flags, and passes it down.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.analyst.commands import register_analyst_commands
from assistant.config import Settings
from assistant.offline import apply_offline_environment

app = typer.Typer(
    name="peacetalks",
    help="Ask questions about the Russia–Ukraine peace negotiations and get answers with checkable citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts contain [n] and [env: ...], which rich markup would swallow
)

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the store lives [env: PEACETALKS_DATA_DIR; default .peacetalks]"),
]
register_analyst_commands(app)  # `stances` and `timeline` (assistant/analyst/commands.py)


def make_settings(**overrides: Any) -> Settings:
    """Env vars first, then the flags the user actually gave."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders [default: corpus/]")] = None,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="Delete articles a re-synced folder no longer holds")
    ] = True,
    data_dir: DataDirOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    views: Annotated[
        bool, typer.Option("--views/--no-views", help="Refresh the stance board and timeline, print what's new")
    ] = True,
) -> None:
    """Add new articles, replace changed ones, delete removed ones; unchanged ones are skipped."""
    settings = make_settings(data_dir=data_dir)
    from assistant.store import StoreError
    from ingest.pipeline import build_ingest_pipeline

    store = _open_store(settings)
    try:
        report = build_ingest_pipeline(settings, store, show_progress=not quiet, refresh_views=views).run(
            paths or [settings.corpus_dir], prune=prune
        )
        for problem in report.errors:
            typer.secho(f"failed: {problem}", fg=typer.colors.RED, err=True)
        typer.echo(report.summary())
        where = store.server or settings.data_dir
        typer.echo(f"store: {where} ({store.count()} chunks in {len(store.list_articles())} articles)")
        if report.views:
            typer.echo(report.views)
        if report.views_error:  # the ingest itself succeeded; the views are rebuilt by `peacetalks stances`
            typer.secho(f"warning: the analyst views were not refreshed: {report.views_error}", err=True)
    except StoreError as error:  # the Chroma server or the records database went away mid-ingest
        raise fail(f"{error} Run the same ingest again once it is back: it resumes where this one stopped.") from None
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer object as JSON")] = False,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="Answer one question per line (or JSONL with a 'question' field); JSONL out"),
    ] = None,
    k: Annotated[int | None, typer.Option("--k", help="Passages to retrieve")] = None,
    publisher: Annotated[str | None, typer.Option(help="Only passages from this publisher")] = None,
    article: Annotated[str | None, typer.Option(help="Only passages from this article id")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles published on/after this ISO date")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published on/before this ISO date")] = None,
    include_undated: Annotated[
        bool, typer.Option("--include-undated", help="With --since/--until, keep articles without a known date")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Answer a question from the ingested corpus, citing passages as [n]."""
    from assistant.retrieval import RetrievalFilters
    from assistant.service import QuestionError, build_assistant
    from assistant.store import StoreError

    if (question is None) == (batch is None):
        raise fail("give a QUESTION or --batch FILE (not both)", 2)
    settings = make_settings(data_dir=data_dir, top_k=k)
    filters = RetrievalFilters(
        publisher=publisher, article_id=article, date_from=since, date_to=until, include_undated=include_undated
    )
    try:
        filters.to_where()
    except ValueError as error:
        raise fail(str(error), 2) from None
    if not settings.chroma_server and not settings.chroma_dir.exists():
        raise fail(f"nothing has been ingested into {settings.data_dir} yet: run `peacetalks ingest` first")
    try:
        assistant = build_assistant(settings)
        if batch is not None:
            _ask_batch(assistant, batch, filters)
            return
        assert question is not None
        if as_json:
            typer.echo(json.dumps(assistant.ask(question, filters=filters).to_dict(), ensure_ascii=False, indent=2))
            return
        from assistant.render import render_sources

        answer, streamed = None, ""
        for item in assistant.stream(question, filters=filters):
            if isinstance(item, str):
                streamed += item
                typer.echo(item, nl=False)
                sys.stdout.flush()
            else:
                answer = item
        assert answer is not None
        if answer.text.strip() != streamed.strip():
            # Verification dropped citations or sentences: show the answer as it stands after the checks.
            typer.echo(f"\n\nAfter citation verification:\n{answer.text}")
        typer.echo("\n")
        typer.echo(render_sources(answer))
    except (QuestionError, StoreError) as error:
        raise fail(str(error)) from None


def _ask_batch(assistant: Any, batch: Path, filters: Any) -> None:
    from assistant.service import QuestionError

    if not batch.is_file():
        raise fail(f"{batch}: no such file")
    failures = 0
    for number, line in enumerate(batch.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        question = line
        if line.lstrip().startswith("{"):
            try:
                question = str(json.loads(line)["question"])
            except (json.JSONDecodeError, KeyError, TypeError):
                typer.echo(json.dumps({"line": number, "error": "not a JSON object with a 'question' field"}))
                failures += 1
                continue
        try:
            typer.echo(json.dumps(assistant.ask(question, filters=filters).to_dict(), ensure_ascii=False))
        except QuestionError as error:
            typer.echo(json.dumps({"line": number, "question": question, "error": str(error)}, ensure_ascii=False))
            failures += 1
    if failures:
        raise typer.Exit(1)


@app.command()
def chat(
    host: Annotated[str | None, typer.Option(help="Address to bind [default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default 7860]")] = None,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="Allow a non-loopback --host without a login (prints a warning). Prefer PEACETALKS_AUTH=user:password "
            "or PEACETALKS_AUTH_FILE.",
        ),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Start the web UI (Gradio) on loopback; another --host needs a login (PEACETALKS_AUTH / PEACETALKS_AUTH_FILE)."""
    from assistant.ui.auth import AuthError, resolve_auth

    settings = make_settings(data_dir=data_dir, host=host, port=port)
    try:
        resolve_auth(settings, insecure_no_auth)  # before loading anything: a refused bind fails at once
    except AuthError as error:
        raise fail(str(error), 2) from None
    if not settings.chroma_server and not settings.chroma_dir.exists():
        raise fail(f"nothing has been ingested into {settings.data_dir} yet: run `peacetalks ingest` first")
    from assistant.store import StoreError
    from assistant.ui.app import launch

    try:
        launch(settings, insecure_no_auth=insecure_no_auth)
    except StoreError as error:  # e.g. the Chroma server is not reachable at start-up
        raise fail(str(error)) from None


@app.command("eval")
def evaluate(
    suite: Annotated[str, typer.Option(help="corpus | msmarco | asqa | all | views (board, timeline)")] = "corpus",
    backend: Annotated[
        str, typer.Option(help="extractive | llm (llm needs PEACETALKS_LLM_BASE_URL and PEACETALKS_LLM_MODEL)")
    ] = "extractive",
    judge: Annotated[str, typer.Option(help="Support judge: offline | llm")] = "offline",
    k: Annotated[int | None, typer.Option("--k", help="Passages the answer uses")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions")] = None,
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline", help="Also run the LangChain tutorial")] = True,
    out: Annotated[
        Path | None, typer.Option(help="Run directory [default: <data dir>/evals/runs/<time>-<suite>]")
    ] = None,
    compare: Annotated[
        tuple[Path, Path] | None, typer.Option(help="Compare two run directories instead of running (A B)")
    ] = None,
    tolerance: Annotated[float, typer.Option(help="Allowed drop per metric in --compare")] = 0.02,
    retrievers: Annotated[
        bool, typer.Option("--retrievers", help="Retrieval only: dense vs BM25 vs hybrid vs the tutorial baseline")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Measure retrieval, citations and answers on a question set; write results.json, report.md and plots."""
    import time

    from evals.datasets import DatasetMissing
    from evals.report import compare_runs, write_run
    from evals.runner import SUITES, compare_retrievers, run_suite

    if compare:
        table, regressions = compare_runs(compare[0], compare[1], tolerance)
        typer.echo(table)
        for line in regressions:
            typer.secho(f"regression: {line}", fg=typer.colors.RED)
        raise typer.Exit(1 if regressions else 0)
    settings = make_settings(data_dir=data_dir, top_k=k)
    if backend == "extractive":
        settings = settings.model_copy(update={"llm_base_url": None, "llm_model": None})
    elif not settings.llm_configured:
        raise fail("--backend llm needs PEACETALKS_LLM_BASE_URL and PEACETALKS_LLM_MODEL")
    if suite == "views":  # the analyst views against their gold cells and events (evals/metrics/views.py)
        from evals.metrics.views import run_views_eval

        typer.echo(run_views_eval(settings, out=out))
        return
    suites = list(SUITES) if suite == "all" else [suite]
    missing = 0
    for name in suites:
        if name not in SUITES:
            raise fail(f"unknown suite {name!r} (choose from {', '.join(SUITES)}, all)", 2)
        if retrievers:
            try:
                rows = compare_retrievers(settings, name, limit=limit)
            except DatasetMissing as error:
                typer.secho(f"skipped {name}: {error}", fg=typer.colors.YELLOW, err=True)
                missing += 1
                continue
            typer.echo(f"== {name}: retrieval ==")
            typer.echo(
                f"{'system':<20}{'recall@5':>10}{'mrr@10':>10}{'ndcg@10':>10}{'p50 ms':>10}{'p95 ms':>10}"
                f"  {'default − this, 95% CI: recall@5':<34}{'MRR@10'}"
            )
            for system, row in rows.items():
                intervals = "".join(
                    f"  [{row[f'default_minus_{key}_ci_low']:+.3f}, {row[f'default_minus_{key}_ci_high']:+.3f}]"
                    + " " * 16
                    if f"default_minus_{key}_ci_low" in row
                    else ""
                    for key in ("recall@5", "mrr@10")
                )
                typer.echo(
                    f"{system:<20}{row['recall@5']:>10.3f}{row['mrr@10']:>10.3f}{row['ndcg@10']:>10.3f}"
                    f"{row['latency_p50_ms']:>10.1f}{row['latency_p95_ms']:>10.1f}{intervals.rstrip()}"
                )
            typer.echo("(an interval above 0: the default is better on this set; one that holds 0: not told apart)")
            continue
        try:
            run = run_suite(settings, name, limit=limit, judge_kind=judge, with_baseline=baseline)
        except DatasetMissing as error:
            typer.secho(f"skipped {name}: {error}", fg=typer.colors.YELLOW, err=True)
            missing += 1
            continue
        run_dir = out if out and len(suites) == 1 else None
        run_dir = run_dir or settings.data_dir / "evals" / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
        report = write_run(run, run_dir)
        typer.echo(_summary_table(run))
        typer.echo(f"report: {report}")
    if missing == len(suites):
        raise typer.Exit(3)


def _summary_table(run: Any) -> str:
    from evals.report import HEADLINE, _fmt

    head = f"{'metric':<22}" + "".join(f"{s.name:>20}" for s in run.systems)
    rows = [f"== {run.suite} ({len(run.systems[0].results)} questions; judge {run.judge}) ==", head]
    for key in HEADLINE:
        if any(key in s.summary for s in run.systems):
            rows.append(f"{key:<22}" + "".join(f"{_fmt(s.summary.get(key)):>20}" for s in run.systems))
    return "\n".join(rows)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """Measure ingest speed (vs plain LangChain and the compute bound), retrieval and answer latency, start-up and
    memory; print a table and write JSON. Options are those of `python -m evals.bench --help` (e.g. --quick)."""
    from evals.bench import main as bench_main

    raise typer.Exit(bench_main(list(ctx.args)))


@app.command()
def articles(data_dir: DataDirOption = None) -> None:
    """List the ingested articles."""
    settings = make_settings(data_dir=data_dir)
    if not settings.chroma_server and not settings.chroma_dir.exists():
        raise fail(f"nothing has been ingested into {settings.data_dir} yet: run `peacetalks ingest` first")
    from assistant.store import StoreError

    try:
        records = _open_store(settings).list_articles()
    except StoreError as error:
        raise fail(str(error)) from None
    for record in records:
        typer.echo(f"{record.article_id}\t{record.published or 'undated'}\t{record.n_chunks} chunks\t{record.title}")


@app.command()
def remove(
    article_ids: Annotated[list[str], typer.Argument(help="Article ids as `peacetalks articles` lists them")],
    data_dir: DataDirOption = None,
) -> None:
    """Delete articles (and all their chunks) from the store."""
    from assistant.store import StoreError
    from ingest.pipeline import remove_articles

    settings = make_settings(data_dir=data_dir)
    try:
        deleted = remove_articles(_open_store(settings), article_ids)
    except KeyError as error:
        raise fail(f"no ingested article {error}; see `peacetalks articles`") from None
    except StoreError as error:
        raise fail(str(error)) from None
    for article_id, n in deleted.items():
        typer.echo(f"removed {article_id} ({n} chunks)")


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Delete the whole store (Chroma files and ingest records). The corpus files are not touched."""
    settings = make_settings(data_dir=data_dir)
    if settings.chroma_server or settings.records_url:  # server mode: the collection and the shared records too
        from assistant.store import StoreError, reset_store

        where = f"collection {settings.collection!r} on {settings.chroma_server or settings.chroma_dir}"
        if not yes and not typer.confirm(f"Delete {where}, its ingest records and {settings.data_dir}?"):
            raise typer.Exit(1)
        try:
            deleted = reset_store(settings)
        except StoreError as error:
            raise fail(str(error)) from None
        typer.echo("deleted " + (", ".join(deleted) or "nothing (it was already empty)"))
        return
    if not settings.data_dir.exists():
        typer.echo(f"nothing to reset: {settings.data_dir} does not exist")
        return
    if not yes and not typer.confirm(f"Delete {settings.data_dir}?"):
        raise typer.Exit(1)
    shutil.rmtree(settings.data_dir)
    typer.echo(f"deleted {settings.data_dir}")


def _open_store(settings: Settings) -> Any:
    from assistant.embedding import Embedder, embedder_options
    from assistant.store import ChunkStore, StoreError

    try:
        embedder = Embedder(settings.embedding_model_path, settings.embedding_batch_size, **embedder_options(settings))
        return ChunkStore(settings, embedder)
    except StoreError as error:
        raise fail(str(error)) from None


def main() -> None:
    """Console-script entry point."""
    apply_offline_environment()
    app()


if __name__ == "__main__":
    main()
