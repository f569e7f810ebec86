"""Adapters to the outside world.

The modules directly in this package are read-only evidence tools: each takes its client and the
investigation instant, never changes anything, and returns `agent.models.Evidence` — a status (`ok`,
`no_data`, `error`), the exact query it ran, and the data. Expected failures are data, not exceptions.

`tools.actions` (a separate sub-package, never offered to an LLM) holds the actions that change things.
"""
