"""Activities are plain functions: call them directly."""

import asyncio

import activities


def test_say_hello_greets_the_city() -> None:
    say_hello = activities.say_hello.build().get_user_function()
    assert say_hello("Tokyo") == "Hello Tokyo!"


def test_square_is_async_and_squares_its_input() -> None:
    square = activities.square.build().get_user_function()
    assert asyncio.run(square(7)) == 49


def test_check_job_reports_running_until_ready() -> None:
    check_job = activities.check_job.build().get_user_function()
    assert check_job({"checks": 1, "ready_after": 2}) == "running"


def test_check_job_reports_done_once_ready() -> None:
    check_job = activities.check_job.build().get_user_function()
    assert check_job({"checks": 2, "ready_after": 2}) == "done"
