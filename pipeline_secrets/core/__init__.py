"""Shared plumbing that imports no app: errors, problem documents, environment readers,
request middleware, outbound rules, safe logging, API and page helpers.

Dependencies point one way: ``clusters`` -> ``secrets_app`` -> ``orgs`` -> this package
(the contract in ``make lint`` keeps it so). ``pipeline_secrets`` itself only wires the apps
together (settings, root URLs, WSGI) and is imported by none of them.
"""
