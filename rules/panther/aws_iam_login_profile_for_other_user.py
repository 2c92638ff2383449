from panther_base_helpers import deep_get

PROFILE_CALLS = ["CreateLoginProfile", "UpdateLoginProfile"]


def rule(event):
    if event.get("eventName") not in PROFILE_CALLS:
        return False
    # Both names are strings in CloudTrail; a user changing its own password is routine.
    target = deep_get(event, "requestParameters", "userName")
    return target is not None and target != deep_get(event, "userIdentity", "userName")
