from panther_aws_helpers import aws_cloudtrail_success

SENSITIVE = {
    "guardduty.amazonaws.com": ["DeleteDetector", "UpdateDetector", "DeleteMembers"],
    "config.amazonaws.com": ["StopConfigurationRecorder", "DeleteDeliveryChannel"],
    "securityhub.amazonaws.com": ["DisableSecurityHub"],
}


def rule(event):
    calls = SENSITIVE.get(event.get("eventSource"), [])
    return event.get("eventName") in calls and aws_cloudtrail_success(event)
