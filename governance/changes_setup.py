"""What the changes part of governance registers with the apps below it."""


def ready() -> None:
    """Nothing yet."""
