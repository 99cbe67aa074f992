"""Agent-mode clusters: the server's side of docs/agent-protocol.md.

``events`` (what the agent is told, written in the transaction of the change),
``tokens`` (the agent's token), ``auth`` (the agent routes' authentication), ``render``
(the desired state with values, as the policy allows the agent to receive them),
``reports`` (what the agent tells back) and ``api`` (the agent routes).
"""
