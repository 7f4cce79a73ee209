"""example_values: a form filled from the catalogue's own examples gets through submit."""

from __future__ import annotations

import pytest

from registration_fsm import EmulatedRegistrationApi, InvalidArgument
from registration_fsm.domain.forms import (
    Catalog,
    FieldValue,
    check_form,
    example_values,
    missing_fields,
)

BRAND = "US_TEN_DLC_BRAND_REGISTRATION"
TOLL_FREE = "US_TOLL_FREE_REGISTRATION"


def test_the_brand_form_fills_from_its_examples_and_the_emulator_accepts_it() -> None:
    catalog = Catalog.builtin()
    values = example_values(catalog.type(BRAND))
    assert missing_fields(catalog.type(BRAND), values) == ()
    assert check_form(catalog.type(BRAND), values) == []

    api = EmulatedRegistrationApi(seed=2, catalog=catalog, quotas=None)
    reg_id = api.create_registration(BRAND)["RegistrationId"]
    for value in values.values():
        api.put_registration_field_value(
            reg_id,
            value.field_path,
            text_value=value.text_value,
            select_choices=value.select_choices,
        )
    assert api.submit_registration_version(reg_id)["RegistrationVersionStatus"] == "SUBMITTED"


def test_fields_without_an_example_are_named_and_can_be_given() -> None:
    definition = Catalog.builtin().type(TOLL_FREE)
    with pytest.raises(InvalidArgument) as refused:
        example_values(definition)
    message = str(refused.value)
    assert "\n" not in message
    # Every TEXT field has an example; an ATTACHMENT needs an attachment_id.
    assert message == (
        "US_TOLL_FREE_REGISTRATION: no example value for messagingUseCase.optInImage "
        "(give them in text=, or an attachment_id)"
    )

    text = {
        "messagingUseCase.useCaseDetails": "One-time passcodes sent when customers sign in",
        "messagingUseCase.optInDescription": "Customers tick an unchecked box when they sign up",
        "messageSamples.messageSample1": "Your code is 123456. Reply STOP to opt out.",
    }
    values = example_values(definition, attachment_id="attachment-0", text=text)
    assert missing_fields(definition, values) == ()
    assert values["messagingUseCase.optInImage"] == FieldValue(
        "messagingUseCase.optInImage", attachment_id="attachment-0"
    )
    assert (
        values["messageSamples.messageSample1"].text_value == text["messageSamples.messageSample1"]
    )
