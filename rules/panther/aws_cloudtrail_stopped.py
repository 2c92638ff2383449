from panther_aws_helpers import aws_cloudtrail_success, aws_rule_context

# API calls that stop a trail from recording.
CLOUDTRAIL_STOP_DELETE = {
    "DeleteTrail",
    "StopLogging",
}


def rule(event):
    return aws_cloudtrail_success(event) and event.get("eventName") in CLOUDTRAIL_STOP_DELETE


def title(event):
    return f"CloudTrail [{event.deep_get('requestParameters', 'name')}] was stopped or deleted"


def alert_context(event):
    return aws_rule_context(event)
