from __app__.shared.greetings import greeting


def main(name: str) -> str:
    return greeting(name)
