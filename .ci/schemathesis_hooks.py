"""The one rule JSON Schema cannot state, for .ci/schemathesis (named in the schema's
description and in README): a report's date is not after tomorrow. Nothing else is filtered."""

import datetime

import schemathesis


@schemathesis.hook
def filter_body(ctx, body):
    if not isinstance(body, dict):
        return True
    # A report's date may not be after tomorrow (UTC).
    date = body.get("incident_date")
    if isinstance(date, str):
        try:
            day = datetime.date.fromisoformat(date)
        except ValueError:
            return True
        tomorrow = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1)
        if day > tomorrow:
            return False
    return True
