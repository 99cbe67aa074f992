"""``python -m pipeline_secrets_agent``: the same as the ``pipeline-secrets-agent`` script."""

from pipeline_secrets_agent.cli import main

raise SystemExit(main())
