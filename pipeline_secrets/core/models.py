"""No models: the module exists so that ``migrate`` sends the core app its ``post_migrate``
signal (Django sends it only to apps with a models module); see ``apps.py``."""
