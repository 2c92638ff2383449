def rule(event):
    identity = event["userIdentity"]
    if identity.get("type") != "Root":
        return False
    if identity.get("invokedBy") is not None:
        return False
    if event.get("eventType") == "AwsServiceEvent":
        return False
    # sourceIPAddress holds a service name ("s3.amazonaws.com") for calls AWS makes for you.
    return event.udm("source_ip") is not None and "amazonaws.com" not in event.get("userAgent", "")
