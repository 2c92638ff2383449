def rule(event):
    if event.get("eventName") != "ModifySnapshotAttribute":
        return False
    if event.deep_get("requestParameters", "attributeType") != "CREATE_VOLUME_PERMISSION":
        return False
    added = event.deep_get("requestParameters", "createVolumePermission", "add", "items", default=[])
    # Every added grant names an account or the "all" group, and there is at least one.
    return bool(added) and all(grant.get("userId") or grant.get("group") == "all" for grant in added)
