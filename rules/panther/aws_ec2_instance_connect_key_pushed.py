def rule(event):
    # Panther reads keys case-insensitively: "EventName" and "sourceIpAddress" are the record's
    # eventName and sourceIPAddress.
    if event.get("EventName") not in ("SendSSHPublicKey", "SendSerialConsoleSSHPublicKey"):
        return False
    return event.get("sourceIpAddress") != "ec2-instance-connect.amazonaws.com" and not event.get("userAgent", "").startswith("console")
