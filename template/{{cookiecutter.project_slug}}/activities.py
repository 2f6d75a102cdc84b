"""Activities: the steps that do real work (I/O, clocks, randomness are fine here).

Activities may be plain or ``async`` functions. Their input and output cross
the wire as JSON, so keep both JSON-friendly.
"""

import asyncio
import logging

import durable_functions as df

bp = df.Blueprint()


@bp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    """Greet one city (a synchronous activity)."""
    logging.info("Saying hello to %s", city)
    return f"Hello {city}!"


@bp.activity_trigger(input_name="number")
async def square(number: int) -> int:
    """Square a number (an async activity: awaiting I/O here does not block the worker)."""
    await asyncio.sleep(0)
    return number * number


@bp.activity_trigger(input_name="job")
def check_job(job: dict) -> str:
    """Report the state of a job the monitor watches.

    A real app would call an external service; this one reports ``done`` once
    the monitor has checked ``ready_after`` times.
    """
    return "done" if job.get("checks", 0) >= job.get("ready_after", 3) else "running"
