"""Local backends that speak the real protocols, for tests and for replaying scenarios (`opsmedic eval`).

Each is a context manager with `start()`, `stop()` and a `.url`; import the one you need from its module
(importing this package loads none of them):

- `agent.replay.prometheus.PrometheusServer` — the real Prometheus binary loaded with given samples;
- `agent.replay.kube.KubeEmulator` — kmock's Kubernetes API emulator, with pod logs and reactions;
- `agent.replay.moto.MotoServer` — moto's AWS server (CloudWatch Logs) on a free port;
- `agent.replay.statuspage.StatuspageServer` — Statuspage v2 summaries per provider, with failure modes.
"""
