from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.executor import catalog_for, executor_for
from agent.models import ActionResult
from agent.nodes import audited
from agent.state import State
from tools.actions import Check
from tools.actions import signal as signals
from tools.investigation import alert_expression


@audited("verify")
async def verify(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Re-query the signal that fired and the action's own check until `verify_timeout_s`.

    Recovered → the action is recorded as done. Worse (the check failed, or the signal grew) → the action is
    reverted automatically and a human is paged. Unclear at the deadline → a human is paged.
    """
    ctx = runtime.context
    result = state.result
    if result is None or result.status != "succeeded" or not result.idempotency_key:
        ctx.audit.append(ctx.incident_id, "verification", "system", {
            "verdict": "not_applicable", "detail": "nothing was changed, so there is nothing to verify"})
        return {"verification": ""}
    executor = executor_for(ctx)
    verdict, check, baseline, reading = await _watch(ctx, state, result)
    data: dict[str, Any] = {"verdict": verdict, "action": result.action, "target": result.target,
                            "check": {"status": check.status, "detail": check.detail},
                            "baseline": baseline.as_dict(), "reading": reading.as_dict()}
    update: dict[str, Any] = {"verification": verdict}
    key = result.idempotency_key
    if verdict == "recovered":
        await asyncio.to_thread(executor.settle, key, "done", "the signal recovered")
    elif verdict == "worse":
        reverted, detail = await asyncio.to_thread(executor.revert, key)
        data["revert"] = {"reverted": reverted, "detail": detail}
        await asyncio.to_thread(executor.settle, key, "reverted" if reverted else "failed", detail)
        update["result"] = result.model_copy(update={"status": "reverted" if reverted else "failed",
                                                     "detail": f"made things worse; {detail}"})
        _escalate(ctx, f"{result.action} on {result.target} made things worse; "
                       + ("it was reverted" if reverted else f"the revert did not happen: {detail}"))
    else:
        await asyncio.to_thread(executor.settle, key, "done", "verification unclear")
        _escalate(ctx, f"{result.action} on {result.target} ran, but recovery is unclear: {check.detail}; "
                       f"{reading.detail}")
    ctx.audit.append(ctx.incident_id, "verification", "system", data)
    return update


async def _watch(ctx: Context, state: State, result: ActionResult) -> tuple[str, Check, signals.Reading,
                                                                          signals.Reading]:
    action = catalog_for(ctx).get(result.action)
    plan = result.data.get("plan") or executor_for(ctx).plan_of(result.idempotency_key)
    incident = state.incident or ctx.store.get_incident(ctx.incident_id)
    exprs = [alert_expression(a.generator_url) for a in (incident.firing or incident.alerts)]
    expr = next((e for e in exprs if e), "")
    prom, timeout = ctx.clients.prometheus, ctx.settings.tool_timeout_s
    baseline = await asyncio.to_thread(signals.read, prom, expr, ctx.instant, timeout_s=timeout)
    deadline = time.monotonic() + ctx.settings.verify_timeout_s
    while True:
        try:
            check = await asyncio.to_thread(action.check, plan)
        except Exception as exc:  # the target cannot be read right now: keep trying until the deadline
            check = Check("pending", f"the action's check could not run: {exc}")
        reading = await asyncio.to_thread(signals.read, prom, expr, ctx.clock(), timeout_s=timeout)
        judged = signals.judge(baseline, reading, check)
        if judged != "pending":
            return judged, check, baseline, reading
        if not expr and check.status == "ok":
            return "unclear", check, baseline, reading
        if time.monotonic() >= deadline:
            return "unclear", check, baseline, reading
        await asyncio.sleep(ctx.settings.verify_poll_s)


def _escalate(ctx: Context, reason: str) -> None:
    notifier = ctx.clients.notifier
    if notifier is not None:
        notifier.escalate(ctx.incident_id, reason)
    ctx.audit.append(ctx.incident_id, "message", "system",
                     {"event": "escalated", "reason": reason, "notified": notifier is not None})
