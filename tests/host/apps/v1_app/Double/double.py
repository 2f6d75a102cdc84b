import azure.functions as func

from ..shared_code.numbers import double


def run(value: int, audit: func.Out[str]) -> int:
    audit.set(f"doubled {value}")
    return double(value)
