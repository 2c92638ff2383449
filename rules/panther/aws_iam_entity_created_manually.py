import re

from panther_base_helpers import pattern_match_list

AUTOMATION_AGENTS = ["cloudformation.amazonaws.com", "*terraform*", "*Terraform*"]


def rule(event):
    if not re.match(r"Create(User|Role|Group)$", event.get("eventName", "")):
        return False
    if event.get("sourceIPAddress", "").upper() == "CLOUDFORMATION.AMAZONAWS.COM":
        return False
    return not pattern_match_list(event.get("userAgent", ""), AUTOMATION_AGENTS)
