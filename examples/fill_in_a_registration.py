"""Fill in, submit and follow a US toll-free registration, as AWS's user guide does it.

The steps of https://docs.aws.amazon.com/sms-voice/latest/userguide/registrations-sms-cli.html
through boto3, against the emulator (its shipped forms, and AWS's quotas of one request
per second: about 30 seconds). Run it with ``python examples/fill_in_a_registration.py``.
Against AWS: a client from your credentials (no endpoint_url), the toll-free number you
requested instead of add_origination_identity, and your company's data.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from registration_fsm import Boto3RegistrationApi, EmulatedRegistrationApi, serve

TYPE = "US_TOLL_FREE_REGISTRATION"
COMPANY: dict[str, str | list[str]] = {  # TEXT fields take a string, SELECT fields a list
    "companyInfo.companyName": "Example Corp",
    "companyInfo.website": "https://www.example.com",
    "companyInfo.address1": "123 Main Street",
    "companyInfo.city": "Seattle",
    "companyInfo.state": "WA",
    "companyInfo.zipCode": "98101",
    "companyInfo.isoCountryCode": "US",
    "companyInfo.businessType": ["PRIVATE_PROFIT"],
    "companyInfo.companyIdNumber": "12-3456789",
    "companyInfo.companyIdType": ["EIN"],
    "companyInfo.companyIdCountry": "US",
    "messagingUseCase.monthlyMessageVolume": ["1,000"],
    "messagingUseCase.useCaseCategory": ["ACCOUNT_NOTIFICATIONS"],
    "messagingUseCase.useCaseDetails": "Order confirmations and shipping updates to buyers.",
    "messagingUseCase.optInType": ["DIGITAL_FORM"],
    "messagingUseCase.optInDescription": "Buyers tick an unchecked SMS consent box at checkout.",
}
CONTACT: dict[str, str | list[str]] = {  # forgotten at first
    "contactInfo.firstName": "Jane",
    "contactInfo.lastName": "Doe",
    "contactInfo.supportEmail": "support@example.com",
    "contactInfo.supportPhoneNumber": "+12065550142",
    "messageSamples.messageSample1": "Example Corp: order 12345 has shipped. Reply STOP to end.",
}
OPT_IN_IMAGE = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def put(sms: Any, reg_id: str, values: dict[str, str | list[str]]) -> None:
    """PutRegistrationFieldValue for each: a list is a SELECT field's choices, an
    ``attachment-`` id an ATTACHMENT field's value, other text a TEXT field's."""
    for path, value in values.items():
        member = "SelectChoices" if isinstance(value, list) else "TextValue"
        if isinstance(value, str) and value.startswith("attachment-"):
            member = "RegistrationAttachmentId"
        sms.put_registration_field_value(RegistrationId=reg_id, FieldPath=path, **{member: value})


def main() -> None:
    emulator = EmulatedRegistrationApi(seed=7)
    with serve(emulator) as url:
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        # A plain boto3 client; this one paces itself by AWS's quotas.
        sms = Boto3RegistrationApi.from_config(session=session, endpoint_url=url).client
        form = sms.describe_registration_field_definitions(RegistrationType=TYPE)
        print(f"{TYPE}: {len(form['RegistrationFieldDefinitions'])} fields")
        reg_id = sms.create_registration(RegistrationType=TYPE)["RegistrationId"]
        put(sms, reg_id, COMPANY)
        image = sms.create_registration_attachment(AttachmentBody=OPT_IN_IMAGE)
        put(sms, reg_id, {"messagingUseCase.optInImage": image["RegistrationAttachmentId"]})
        try:
            sms.submit_registration_version(RegistrationId=reg_id)
        except ClientError as err:
            answer: Any = err.response  # the error's members: Reason, Fields...
            missing = ", ".join(f["Name"] for f in answer["Fields"])
            print(f"submit refused ({answer['Reason']}): {missing}")
        put(sms, reg_id, CONTACT)
        number = emulator.add_origination_identity(number_type="TOLL_FREE")  # AWS: request one
        sms.create_registration_association(RegistrationId=reg_id, ResourceId=number["ResourceId"])
        status = sms.submit_registration_version(RegistrationId=reg_id)["RegistrationVersionStatus"]
        print(f"submitted: version 1 {status}")
        for trigger in ("begin_review", "approve"):  # AWS's part, played by the emulator
            emulator.advance(reg_id, trigger)
            (info,) = sms.describe_registrations(RegistrationIds=[reg_id])["Registrations"]
            print(f"after {trigger}: {info['RegistrationStatus']}")


if __name__ == "__main__":
    main()
