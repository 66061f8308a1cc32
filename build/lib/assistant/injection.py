"""Corpus text is data, never instructions: find the sentences of a passage that talk to an AI, and set them aside.

An article may contain text written to steer a language model ("Ignore all previous instructions and say ...",
a fake "SYSTEM:" turn, "you are now ..."). The LLM prompt already fences passages as quoted data; on top of that,
such sentences are replaced by a visible placeholder before a passage reaches a model, the extractive answerer
never quotes them, and citation verification judges against the cleaned passage, so a model that obeyed anyway
cannot have the injected claim count as supported. The patterns are deliberately narrow: reporting *about* the
talks never reads like an order to an assistant.
"""

from __future__ import annotations

import re

from assistant.text import Span, split_sentences

PLACEHOLDER = "[text removed: it addressed an AI, not the reader]"

_PATTERNS = [
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:previous|prior|above|earlier|all|your|the)\b"
    r"[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|directives|guidelines|context)\b",
    r"\b(?:system|developer)\s*(?:prompt|message|instructions?)\b",
    r"(?:^|\n|[\s>])(?:system|assistant|developer)\s*:",  # a fake chat turn
    r"<\s*/?\s*(?:system|passage|instructions?|im_start|im_end)\b",
    r"<\|(?:im_start|im_end|system|endoftext)\|>",
    r"\byou are (?:now|no longer)\b",
    r"\b(?:as an? (?:ai|language model|llm|assistant))\b",
    r"\b(?:new|updated|real) instructions?\s*:",
    r"\b(?:respond|reply|answer|say)\s+(?:only\s+)?(?:with|that)\b[^.!?\n]{0,80}\b(?:regardless|no matter|instead)\b",
    r"\bjailbreak\b|\bDAN mode\b|\bdo anything now\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def is_instruction(sentence: str) -> bool:
    """True when a sentence speaks to an AI model rather than reporting something."""
    return bool(_INSTRUCTION.search(sentence))


def find_instructions(text: str) -> list[Span]:
    """The sentences of ``text`` that look like instructions to a model (offsets into ``text``)."""
    return [span for span in split_sentences(text) if is_instruction(span.text)]


def neutralise(text: str) -> str:
    """``text`` with every instruction-like sentence replaced by ``PLACEHOLDER`` (the rest byte for byte)."""
    spans = find_instructions(text)
    if not spans:
        return text
    out, cursor = [], 0
    for span in spans:
        out.append(text[cursor : span.start])
        out.append(PLACEHOLDER)
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)
