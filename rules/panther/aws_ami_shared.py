from panther_base_helpers import deep_get


def rule(event):
    if event.get("eventName") != "ModifyImageAttribute":
        return False
    added = deep_get(event, "requestParameters", "launchPermission", "add", "items", default=[])
    return any(item.get("group") == "all" or item.get("userId") is not None for item in added)
