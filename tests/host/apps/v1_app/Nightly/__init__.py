import logging

import azure.functions as func


def main(timer: func.TimerRequest) -> None:
    logging.info("nightly run")
