import os


def greeting(name: str) -> str:
    return f"{os.environ.get('GREETING', 'Hi')}, {name}"
