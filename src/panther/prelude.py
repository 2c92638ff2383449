# Panther helpers and CloudTrail data-model mappings, written in the Python subset rulecast
# translates: a rule's call to one of these is translated by inlining the function below.

def aws_cloudtrail_success(event):
    if event.get("errorCode", "") or event.get("errorMessage", ""):
        return False
    return True

def pattern_match(string_to_match, pattern):
    return fnmatch(string_to_match, pattern)

def pattern_match_list(string_to_match, patterns):
    return any(fnmatch(string_to_match, p) for p in patterns)

def udm_event_type(event):
    if event.get("eventName") == "ConsoleLogin" and deep_get(event, "userIdentity", "type") == "IAMUser":
        if deep_get(event, "responseElements", "ConsoleLogin") == "Failure":
            return "failed_login"
        if deep_get(event, "responseElements", "ConsoleLogin") == "Success":
            return "successful_login"
    if event.get("eventName") == "CreateUser":
        return "user_account_created"
    if event.get("eventName") == "CreateAccountResult":
        return "account_created"
    return None

def udm_user_agent(event):
    return event.get("userAgent")

def udm_user(event):
    return deep_get(event, "responseElements", "user", "userName")

def udm_user_account_id(event):
    return deep_get(event, "responseElements", "user", "userId")
