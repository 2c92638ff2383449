import panther_event_type_helpers as event_type


def rule(event):
    return event.udm("event_type") == event_type.FAILED_LOGIN
