from panther_base_helpers import deep_get

OPEN = ("0.0.0.0/0", "::/0")


def rule(event):
    if event.get("eventName") != "AuthorizeSecurityGroupIngress":
        return False
    for permission in deep_get(event, "requestParameters", "ipPermissions", "items", default=[]):
        if any(r.get("cidrIp") in OPEN for r in deep_get(permission, "ipRanges", "items", default=[])):
            return True
    return False
