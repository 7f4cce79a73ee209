"""Sync local registrations with the emulator through a real boto3 client.

The emulator is served over HTTP on 127.0.0.1 (a free port); boto3 talks to it
with dummy credentials, exactly as it would talk to AWS. Another system creates
registrations and fills in their forms, AWS reviews them, and each sync prints
what changed. Run it with

    python examples/sync_with_emulator.py

Filling in the two forms takes about 30 seconds: one request per field, at AWS's
quota of one per second, as on AWS (REGISTRATION_FSM_QUOTA_SCALE=100 in the
environment runs every quota a hundred times faster).

Against AWS, build the client with your credentials and no endpoint_url instead.
"""

from __future__ import annotations

import boto3

from registration_fsm import (
    Boto3RegistrationApi,
    EmulatedRegistrationApi,
    Synchronizer,
    SyncReport,
    fill_form,
    serve,
)


def print_report(title: str, report: SyncReport) -> None:
    print(f"{title}:")
    for event in report.events:
        print(f"  {event.registration_id[-6:]} {event.describe()}")
    for anomaly in report.anomalies:
        print(f"  anomaly: {anomaly}")
    print(
        f"  {len(report.changed)} changed, {len(report.unchanged)} unchanged, "
        f"{len(report.failed)} failed; API calls: {dict(sorted(report.api_calls.items()))}"
    )


def main() -> None:
    emulator = EmulatedRegistrationApi(seed=42)
    with serve(emulator) as url:
        session = boto3.session.Session(
            aws_access_key_id="dummy", aws_secret_access_key="dummy", region_name="us-east-1"
        )
        client = session.client("pinpoint-sms-voice-v2", endpoint_url=url)
        # Another system creates, fills in and submits two registrations through boto3.
        other = Boto3RegistrationApi(client)  # paced by AWS's quotas
        ids = []
        for _ in range(2):
            created = client.create_registration(RegistrationType="US_TEN_DLC_BRAND_REGISTRATION")
            fill_form(other, created["RegistrationId"])  # the brand's form
            client.submit_registration_version(RegistrationId=created["RegistrationId"])
            ids.append(created["RegistrationId"])

        api = Boto3RegistrationApi.from_config(session=session, endpoint_url=url)
        syncer = Synchronizer(api)
        print(f"emulator at {url}")
        print_report("first sync", syncer.sync())

        emulator.advance(ids[0], "begin_review")  # AWS's part, played by the emulator
        emulator.advance(ids[0], "approve")
        print_report("second sync (only the changed registration is described)", syncer.sync())
        for registration in syncer.registrations():
            print(f"  local: {registration.id[-6:]} {registration.status}")


if __name__ == "__main__":
    main()
