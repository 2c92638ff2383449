PUBLIC_ACLS = {"public-read": "read", "public-read-write": "write"}


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com":
        return False
    params = event.get("requestParameters") or {}
    if event.get("eventName") == "DeletePublicAccessBlock":
        return True
    return event.get("eventName") == "PutBucketAcl" and params.get("x-amz-acl") in PUBLIC_ACLS
