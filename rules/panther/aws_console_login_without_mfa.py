from panther_base_helpers import deep_get


def rule(event):
    if event.get("eventName") != "ConsoleLogin":
        return False
    if deep_get(event, "userIdentity", "type") == "AssumedRole":
        # Federated sign-ins carry MFA in the identity provider.
        return False
    if deep_get(event, "responseElements", "ConsoleLogin") != "Success":
        return False
    mfa_used = deep_get(event, "additionalEventData", "MFAUsed", default="No")
    return mfa_used != "Yes"
