"""An activity that cannot be imported: the app's other functions still run."""

import module_that_is_not_installed  # noqa: F401


def main(value: str) -> str:
    return value
