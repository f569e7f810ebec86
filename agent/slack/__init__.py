"""Slack: incident threads, `/opsmedic` commands and approval buttons (slack-bolt, HTTP mode or Socket Mode).

    app.py        build_slack(...) -> Slack | None, register_listeners, slack_routes (HTTP), socket_mode_handler
    commands.py   /opsmedic help|incidents|show|investigate|approve|reject|audit|pause|resume|runbook
    actions.py    Approve / Reject buttons
    events.py     mentions
    desk.py       who may approve, stale previews, duplicate clicks; hands approvals to the graph
    gate.py       HTTP request signature, freshness and replay checks
    notifier.py   Clients.notifier: one message per incident, updated in place; thread replies
    messages.py   Block Kit builders (blocks.py: primitives within Slack's limits)
    poster.py     ~1 message/s per channel, 429 Retry-After honoured
    charts.py     a PNG of the key signal around the alert
"""
