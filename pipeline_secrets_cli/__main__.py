"""``python -m pipeline_secrets_cli``: the same as the ``pipeline-secrets`` script."""

from pipeline_secrets_cli.main import main

raise SystemExit(main())
