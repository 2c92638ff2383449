from fnmatch import fnmatch

from panther_aws_helpers import aws_cloudtrail_success

ATTACH_CALLS = frozenset(["AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy"])
ADMIN_PATTERNS = ["arn:aws:iam::aws:policy/AdministratorAccess*", "arn:aws:iam::aws:policy/PowerUser?ccess"]


def is_admin_policy(arn):
    for pattern in ADMIN_PATTERNS:
        if fnmatch(arn, pattern):
            return True
    return False


def rule(event):
    if event.get("eventName") not in ATTACH_CALLS or not aws_cloudtrail_success(event):
        return False
    return is_admin_policy(event.deep_get("requestParameters", "policyArn", default=""))
