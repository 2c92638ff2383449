import re

TOOLS = re.compile(r"(pacu|stratus-red-team|kali|parrot|cloudfox)", re.IGNORECASE)


def rule(event):
    user_agent = event.get("userAgent") or ""
    return any([
        TOOLS.search(user_agent) is not None,
        "sqlmap" in user_agent,
    ])
