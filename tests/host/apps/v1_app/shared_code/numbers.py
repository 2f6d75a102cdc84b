def double(value: int) -> int:
    return 2 * value
