"""What the access part of governance registers with the apps below it."""


def ready() -> None:
    """Nothing yet."""
