"""``pipeline-secrets``: the command-line client of Pipeline Secrets, for people and
pipelines. It knows the server by its API only."""
