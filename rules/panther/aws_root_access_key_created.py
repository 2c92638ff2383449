from panther_aws_helpers import aws_rule_context


def rule(event):
    if event.get("eventName") != "CreateAccessKey":
        return False
    if event.deep_get("userIdentity", "type") != "Root":
        return False
    # The root user creating a key for itself has no requestParameters (a key for an IAM user
    # names the user in requestParameters.userName).
    return event.get("requestParameters") is None


def title(event):
    return f"Root access key created in account [{event.get('recipientAccountId')}]"


def alert_context(event):
    return aws_rule_context(event)
