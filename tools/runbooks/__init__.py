"""Runbooks: the front matter model, loading and validation, and the Chroma index searched by the reasoners.

    from tools.runbooks import open_index
    index = open_index(settings)            # embedded or HTTP Chroma, offline model folder from the settings
    index.ensure_indexed()                  # re-embeds only runbooks whose file changed
    hits = index.search("output is not valid JSON", alert="LLMOutputValidationFailures", k=3)
    hits[0].runbook.remediations[0].action  # 'prompt.rollback'

The format is documented in runbooks/README.md and `tools.runbooks.model`; the score in `tools.runbooks.index`.
"""

from tools.runbooks.chroma import chroma_client, embedding_function, open_index
from tools.runbooks.index import ALERT_BONUS, LABEL_BONUS, Hit, IndexReport, RunbookIndex
from tools.runbooks.loader import load_file, load_runbooks, parse
from tools.runbooks.model import (
    DOMAINS,
    REMEDIATION_PLACEHOLDERS,
    SIGNAL_PLACEHOLDERS,
    Match,
    Remediation,
    Runbook,
    Signal,
)

__all__ = [
    "ALERT_BONUS", "DOMAINS", "LABEL_BONUS", "REMEDIATION_PLACEHOLDERS", "SIGNAL_PLACEHOLDERS", "Hit", "IndexReport",
    "Match", "Remediation", "Runbook", "RunbookIndex", "Signal", "chroma_client", "embedding_function",
    "load_file", "load_runbooks", "open_index", "parse",
]
