"""TTP parsing with one rule: an output whose layout the template does not recognise is an error."""

from __future__ import annotations

import logging
import threading

from ttp import ttp

from labkit.platforms import ttp_text

logging.getLogger("ttp").setLevel(logging.ERROR)
# TTP is not thread-safe (its lazy function imports and template compilation race: seen as KeyError
# 'utils' and "AST constructor recursion depth mismatch" when checks parse from several threads)
_TTP_LOCK = threading.Lock()


class ParseError(Exception):
    """The output is not in the layout the template knows; the check fails with this reason."""


def parse(template: str, text: str) -> dict:
    """Parse `text`; the result must contain the template's `layout` group, or ParseError."""
    with _TTP_LOCK:
        parser = ttp(data=text, template=ttp_text(template))
        parser.parse()
        result = parser.result()
    parsed = result[0][0] if result and result[0] else {}
    if isinstance(parsed, list):  # several matches at the top level: merge them
        merged: dict = {}
        for part in parsed:
            merged.update(part)
        parsed = merged
    if "layout" not in parsed:
        first = text.strip().splitlines()[:1]
        raise ParseError(f"output not recognised by template {template}.ttp "
                         f"(first line: {first[0][:80]!r})" if first else f"empty output (template {template}.ttp)")
    return parsed
