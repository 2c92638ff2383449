from panther_base_helpers import deep_walk

SECRET_READS = ["BatchGetSecretValue", "GetSecretValue"]


def rule(event):
    name = event.get("eventName")
    if name not in SECRET_READS:
        return False
    if name == "BatchGetSecretValue":
        return True
    # A single read counts when some secret id in the request is a production secret.
    return "prod/db" in deep_walk(event, "requestParameters", "secretId")
