from panther_aws_helpers import aws_cloudtrail_success, aws_rule_context

# Accounts whose automation hands out keys on behalf of users.
KEY_BROKER_ACCOUNTS = {"123456789012"}


def rule(event):
    if event.get("eventName") != "CreateAccessKey" or not aws_cloudtrail_success(event):
        return False
    # The broker's own role creating keys is expected.
    if f"arn:aws:iam::{event.get('recipientAccountId')}:role/key-broker" == event.deep_get(
        "userIdentity", "sessionContext", "sessionIssuer", "arn"
    ):
        return False
    owner = event.deep_get("responseElements", "accessKey", "userName", default="")
    caller = event.deep_get("userIdentity", "arn", default="")
    # A user making a key for themselves has an ARN ending in "user/<their name>".
    return not caller.endswith("user/" + owner)


def alert_context(event):
    return aws_rule_context(event)
