"""The event-source test's child: a follower that stops between the save and the delete.

``python -m helpers.events_follower QUEUE_URL DLQ_URL SQS_ENDPOINT API_ENDPOINT STORE`` (with
``tests`` on ``PYTHONPATH`` and dummy AWS credentials in the environment) follows
the SQS queue into the SQLite STORE, as ``registration-fsm follow`` does, except
that before deleting a handled message — its registration's save has committed —
it prints ``committed MESSAGE_ID`` and waits for a line on standard input. The
parent SIGKILLs it there: the message was handled and saved but not deleted, the
case at-least-once delivery exists for.
"""

from __future__ import annotations

import argparse
import sys

from registration_fsm import Boto3RegistrationApi, SQLiteStore, Synchronizer
from registration_fsm.adapters.sqs import SqsEventSource
from registration_fsm.sync.events import EventFollower


class PausingSource(SqsEventSource):
    """Says when a message is about to be deleted, and waits for the parent."""

    def delete(self, receipt_handle: str) -> None:
        print("committed", receipt_handle[:16], flush=True)
        sys.stdin.readline()  # the parent kills this process here
        super().delete(receipt_handle)


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("queue_url", "dead_letter_queue_url", "sqs_endpoint", "api_endpoint", "store"):
        parser.add_argument(name)
    args = parser.parse_args()
    api = Boto3RegistrationApi.from_config(endpoint_url=args.api_endpoint, region="us-east-1")
    source = PausingSource(
        args.queue_url,
        endpoint_url=args.sqs_endpoint,
        region="us-east-1",
        wait_seconds=1,
        dead_letter_queue_url=args.dead_letter_queue_url,
    )
    with SQLiteStore(args.store) as store:
        EventFollower(Synchronizer(api, store)).run(source)


if __name__ == "__main__":
    main()
