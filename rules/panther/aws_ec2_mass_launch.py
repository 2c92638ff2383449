from panther_base_helpers import deep_get


def rule(event):
    if event.get("eventName") != "RunInstances":
        return False
    items = deep_get(event, "requestParameters", "instancesSet", "items", default=[])
    if event.udm("user_agent") == "console.ec2.amazonaws.com":
        return False
    return any(isinstance(i.get("maxCount"), (int, float)) and i.get("maxCount") >= 10 for i in items)
