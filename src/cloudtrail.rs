//! What CloudTrail records look like, from the CloudTrail record reference and recorded events
//! (the Stratus Red Team detonation logs): the top-level keys and how CloudTrail spells them,
//! which paths hold objects and lists, and which always hold a scalar. Every front end and
//! backend that needs a fact about the record's shape reads it here.

/// A top-level key of a CloudTrail record, as CloudTrail spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopLevelKey {
    pub name: &'static str,
    /// Always a string, number or Boolean (never an object or a list).
    pub always_scalar: bool,
}

/// Shorthands for the table below.
const fn scalar(name: &'static str) -> TopLevelKey {
    TopLevelKey {
        name,
        always_scalar: true,
    }
}
const fn other(name: &'static str) -> TopLevelKey {
    TopLevelKey {
        name,
        always_scalar: false,
    }
}

/// The top-level keys of a CloudTrail record, in the reference's order. Keys not marked scalar
/// hold objects or lists, or are not documented well enough to rely on.
pub const TOP_LEVEL_KEYS: &[TopLevelKey] = &[
    scalar("eventVersion"),
    other("userIdentity"),
    scalar("eventTime"),
    scalar("eventSource"),
    scalar("eventName"),
    scalar("awsRegion"),
    scalar("sourceIPAddress"),
    scalar("userAgent"),
    scalar("errorCode"),
    scalar("errorMessage"),
    other("requestParameters"),
    other("responseElements"),
    other("additionalEventData"),
    scalar("requestID"),
    scalar("eventID"),
    scalar("readOnly"),
    other("resources"),
    scalar("eventType"),
    scalar("apiVersion"),
    scalar("managementEvent"),
    scalar("recipientAccountId"),
    other("serviceEventDetails"),
    scalar("sharedEventID"),
    scalar("vpcEndpointId"),
    other("vpcEndpointAccountId"),
    scalar("eventCategory"),
    other("tlsDetails"),
    scalar("sessionCredentialFromConsole"),
    other("edgeDeviceDetails"),
    other("insightDetails"),
    other("addendum"),
    other("sourceIdentity"),
];

/// The CloudTrail spelling of a top-level key (`sourceipaddress` → `sourceIPAddress`); other keys
/// stay as written. Panther looks up top-level keys case-insensitively.
pub fn canonical_key(key: &str) -> String {
    TOP_LEVEL_KEYS
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(key))
        .map_or_else(|| key.to_owned(), |k| k.name.to_owned())
}

/// What a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// Strings, numbers or Booleans.
    Scalar,
    /// Objects.
    Object,
}

/// A CloudTrail path that does not hold a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Always an object.
    Object,
    /// Always a list.
    List(Elem),
    /// One element or a list of them (XML-derived S3 parameters).
    OneOrList(Elem),
}

/// Where CloudTrail records hold objects and lists, from the CloudTrail record reference and
/// recorded events (the Stratus Red Team detonation logs). Paths not listed (and not extending a
/// listed one) are taken to hold scalars. Any `items` key under `requestParameters` or
/// `responseElements` is a list of objects (EC2's list wrapper).
pub const SHAPES: &[(&str, Kind)] = &[
    ("userIdentity", Kind::Object),
    ("userIdentity.sessionContext", Kind::Object),
    ("userIdentity.sessionContext.attributes", Kind::Object),
    ("userIdentity.sessionContext.sessionIssuer", Kind::Object),
    (
        "userIdentity.sessionContext.webIdFederationData",
        Kind::Object,
    ),
    ("userIdentity.onBehalfOf", Kind::Object),
    ("requestParameters", Kind::Object),
    ("responseElements", Kind::Object),
    ("additionalEventData", Kind::Object),
    ("serviceEventDetails", Kind::Object),
    ("tlsDetails", Kind::Object),
    ("insightDetails", Kind::Object),
    ("edgeDeviceDetails", Kind::Object),
    ("resources", Kind::List(Elem::Object)),
    // EC2
    ("requestParameters.instanceIds", Kind::List(Elem::Scalar)),
    ("requestParameters.filters", Kind::List(Elem::Object)),
    ("requestParameters.filters.values", Kind::List(Elem::Scalar)),
    ("requestParameters.createVolumePermission", Kind::Object),
    ("requestParameters.launchPermission", Kind::Object),
    ("requestParameters.ipPermissions", Kind::Object),
    // ECS
    (
        "requestParameters.containerDefinitions",
        Kind::List(Elem::Object),
    ),
    (
        "requestParameters.containerDefinitions.command",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.containerDefinitions.entryPoint",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.containerDefinitions.environment",
        Kind::List(Elem::Object),
    ),
    // SSM
    ("requestParameters.parameters", Kind::Object),
    (
        "requestParameters.parameters.commands",
        Kind::List(Elem::Scalar),
    ),
    ("requestParameters.names", Kind::List(Elem::Scalar)),
    ("requestParameters.targets", Kind::List(Elem::Object)),
    // Lambda
    ("requestParameters.layers", Kind::List(Elem::Scalar)),
    ("responseElements.layers", Kind::List(Elem::Object)),
    ("responseElements.architectures", Kind::List(Elem::Scalar)),
    // RDS
    ("requestParameters.valuesToAdd", Kind::List(Elem::Scalar)),
    ("requestParameters.valuesToRemove", Kind::List(Elem::Scalar)),
    (
        "responseElements.dBSnapshotAttributes",
        Kind::List(Elem::Object),
    ),
    (
        "responseElements.dBSnapshotAttributes.attributeValues",
        Kind::List(Elem::Scalar),
    ),
    // CloudTrail
    ("requestParameters.eventSelectors", Kind::List(Elem::Object)),
    (
        "requestParameters.eventSelectors.dataResources",
        Kind::List(Elem::Object),
    ),
    (
        "requestParameters.eventSelectors.dataResources.values",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.eventSelectors.excludeManagementEventSources",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.advancedEventSelectors",
        Kind::List(Elem::Object),
    ),
    (
        "requestParameters.advancedEventSelectors.fieldSelectors",
        Kind::List(Elem::Object),
    ),
    ("responseElements.eventSelectors", Kind::List(Elem::Object)),
    // S3 (headers are lists; XML lists of one element are objects)
    ("requestParameters.x-amz-acl", Kind::List(Elem::Scalar)),
    ("requestParameters.bucketPolicy", Kind::Object),
    ("requestParameters.AccessControlPolicy", Kind::Object),
    (
        "requestParameters.AccessControlPolicy.AccessControlList",
        Kind::Object,
    ),
    (
        "requestParameters.AccessControlPolicy.AccessControlList.Grant",
        Kind::OneOrList(Elem::Object),
    ),
    ("requestParameters.LifecycleConfiguration", Kind::Object),
    (
        "requestParameters.LifecycleConfiguration.Rule",
        Kind::OneOrList(Elem::Object),
    ),
    (
        "requestParameters.PublicAccessBlockConfiguration",
        Kind::Object,
    ),
    // SageMaker
    ("requestParameters.onCreate", Kind::List(Elem::Object)),
    ("requestParameters.onStart", Kind::List(Elem::Object)),
    // Tags, IAM Roles Anywhere, Secrets Manager
    ("requestParameters.tags", Kind::List(Elem::Object)),
    ("requestParameters.roleArns", Kind::List(Elem::Scalar)),
    ("requestParameters.secretIdList", Kind::List(Elem::Scalar)),
];

/// What CloudTrail holds at `path`, if not a scalar.
pub fn kind(path: &[String]) -> Option<Kind> {
    let joined = path.join(".");
    if let Some((_, k)) = SHAPES.iter().find(|(p, _)| *p == joined) {
        return Some(*k);
    }
    if path.len() >= 2
        && path.last().is_some_and(|s| s == "items")
        && matches!(path[0].as_str(), "requestParameters" | "responseElements")
    {
        return Some(Kind::List(Elem::Object));
    }
    let prefix = format!("{joined}.");
    if SHAPES.iter().any(|(p, _)| p.starts_with(&prefix)) {
        return Some(Kind::Object);
    }
    None
}

/// Nested CloudTrail fields that always hold a string, number or Boolean.
const NESTED_SCALARS: &[&str] = &[
    "userIdentity.type",
    "userIdentity.principalId",
    "userIdentity.arn",
    "userIdentity.accountId",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.invokedBy",
    "userIdentity.sessionContext.attributes.creationDate",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.sessionIssuer.principalId",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.accountId",
    "userIdentity.sessionContext.sessionIssuer.userName",
];

/// Does `path` (dotted) always hold a string, number or Boolean: never a list to range over?
pub fn always_scalar(path: &str) -> bool {
    TOP_LEVEL_KEYS
        .iter()
        .any(|k| k.always_scalar && k.name == path)
        || NESTED_SCALARS.contains(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<String> {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn top_level_keys_take_cloudtrails_spelling() {
        assert_eq!(canonical_key("sourceipaddress"), "sourceIPAddress");
        assert_eq!(canonical_key("EVENTNAME"), "eventName");
        assert_eq!(canonical_key("notAKey"), "notAKey");
    }

    #[test]
    fn shapes_say_which_paths_hold_containers() {
        assert_eq!(kind(&path("resources")), Some(Kind::List(Elem::Object)));
        assert_eq!(kind(&path("userIdentity")), Some(Kind::Object));
        // A prefix of a listed path is an object; `items` under the parameters is EC2's list.
        assert_eq!(
            kind(&path("userIdentity.sessionContext")),
            Some(Kind::Object)
        );
        assert_eq!(
            kind(&path("requestParameters.groupSet.items")),
            Some(Kind::List(Elem::Object))
        );
        assert_eq!(kind(&path("eventName")), None);
        assert!(always_scalar("eventName") && always_scalar("userIdentity.arn"));
        assert!(!always_scalar("userIdentity") && !always_scalar("requestParameters.userName"));
        // Every key the shape table calls a container is not also called a scalar.
        for (p, _) in SHAPES {
            assert!(!always_scalar(p), "{p}");
        }
    }
}
