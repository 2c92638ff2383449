from panther_base_helpers import pattern_match


def rule(event):
    if event.get("eventSource") != "kms.amazonaws.com":
        return False
    if not pattern_match(event.get("eventName", ""), "*Key*"):
        return False
    name = event.get("eventName")
    window = event.deep_get("requestParameters", "pendingWindowInDays", default=30)
    risky = window < 30 if name == "ScheduleKeyDeletion" else name == "DisableKey"
    return risky and event.get("readOnly") is not True
