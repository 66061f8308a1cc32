"""Citation quality after ALCE (Gao et al. 2023, "Enabling Large Language Models to Generate Text with Citations").

* Citation recall: the share of answer sentences that are supported by the passages they cite, taken together
  (a sentence that cites nothing scores 0).
* Citation precision: the share of citations that are needed: a citation is imprecise when its sentence is not
  supported at all, or when the sentence is supported, the citation alone does not support it, and the other
  citations support it without it (ALCE's "irrelevant citation").
* Faithfulness (ours, RAGAS-like): the share of answer sentences supported by at least one retrieved passage,
  cited or not.

Support is decided by a pluggable ``SupportJudge``; the report names the judge that produced each number.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answering.composition import DISAGREEMENT_TEXT, split_source_date
from assistant.citations import parse_sentences
from assistant.models import Answer
from assistant.support import SupportJudge


@dataclass(frozen=True)
class CitationScores:
    recall: float
    precision: float
    faithfulness: float
    n_sentences: int
    n_citations: int


def answer_sentences(answer: Answer) -> list[tuple[str, list[str]]]:
    """Each answer sentence with the texts of the passages it cites (by the answer's own [n] numbers)."""
    passages = {c.number: c.passage for c in answer.citations}
    dated = {c.number: (c.published or "")[:10] for c in answer.citations}
    out = []
    for s in parse_sentences(answer.text):
        # The extractive backend's fixed "the sources disagree" notice states no fact: the quotes after it do.
        if not s.text or s.text.strip() == DISAGREEMENT_TEXT:
            continue
        # A "(source dated …)" label is metadata: the sentence is judged without it, against the passages whose
        # article carries that date (a wrong label leaves it no passage, so it counts as unsupported).
        label_date, text = split_source_date(s.text)
        cites = [n for n in s.cites if n in passages and (label_date is None or dated[n] == label_date)]
        out.append((text, [passages[n] for n in cites]))
    return out


def citation_scores(answer: Answer, judge: SupportJudge) -> CitationScores | None:
    """ALCE citation recall/precision and faithfulness of one answer; None for abstentions (nothing to score)."""
    if answer.abstained:
        return None
    sentences = answer_sentences(answer)
    if not sentences:
        return None
    retrieved = [ev.chunk.text for ev in answer.evidence]
    supported_sentences = precise = n_citations = faithful = 0
    for sentence, cited in sentences:
        n_citations += len(cited)
        joint = bool(cited) and judge.judge(sentence, cited).supported
        if joint:
            supported_sentences += 1
            faithful += 1
            if len(cited) == 1:
                precise += 1
            else:
                for i, passage in enumerate(cited):
                    alone = judge.judge(sentence, [passage]).supported
                    others = cited[:i] + cited[i + 1 :]
                    if alone or not judge.judge(sentence, others).supported:
                        precise += 1
        elif any(judge.judge(sentence, [p]).supported for p in retrieved):
            faithful += 1
    n = len(sentences)
    return CitationScores(
        recall=supported_sentences / n,
        precision=precise / n_citations if n_citations else 0.0,
        faithfulness=faithful / n,
        n_sentences=n,
        n_citations=n_citations,
    )
