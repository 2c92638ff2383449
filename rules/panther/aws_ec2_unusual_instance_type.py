from panther_base_helpers import deep_get

GPU_FAMILIES = ("p2.", "p3.", "p4d.", "p5.", "g4dn.", "g5.", "inf1.", "trn1.")


def rule(event):
    if event.get("eventName") != "RunInstances":
        return False
    instance_type = deep_get(event, "requestParameters", "instanceType", default="")
    instance_type = instance_type.lower()
    return instance_type.startswith(GPU_FAMILIES) or instance_type.endswith(".metal")
