"""An activity: a greeting for one city."""


def main(city: str) -> str:
    if city == "Nowhere":
        raise ValueError("no such city")
    return f"Hello {city}!"
