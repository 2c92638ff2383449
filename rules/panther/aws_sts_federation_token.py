from panther_aws_helpers import aws_rule_context

LONG_TERM_KEY_PREFIXES = ["AKIA", "ABIA"]


def rule(event):
    key = event.deep_get("userIdentity", "accessKeyId", default="")
    return all([
        event.get("eventSource") == "sts.amazonaws.com",
        event.get("eventName") == "GetFederationToken",
        any(key.startswith(prefix) for prefix in LONG_TERM_KEY_PREFIXES),
    ])


def alert_context(event):
    context = aws_rule_context(event)
    context["federated_user"] = event.deep_get("requestParameters", "name")
    return context
