//! What CloudTrail records look like, from the CloudTrail record reference and recorded events
//! (the Stratus Red Team detonation logs): the top-level keys and how CloudTrail spells them,
//! which paths hold objects and lists, and which always hold a scalar. Every front end and
//! backend that needs a fact about the record's shape reads it here.

use crate::ir::JsonType;

/// A top-level key of a CloudTrail record, as CloudTrail spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopLevelKey {
    pub name: &'static str,
    /// Always a string, number or Boolean (never an object or a list).
    pub always_scalar: bool,
    /// The JSON type of that scalar, when the record reference and the recorded events agree on
    /// one (`readOnly` is a Boolean, `recipientAccountId` a string).
    pub ty: Option<JsonType>,
}

/// Shorthands for the table below.
const fn string(name: &'static str) -> TopLevelKey {
    TopLevelKey {
        name,
        always_scalar: true,
        ty: Some(JsonType::String),
    }
}
const fn boolean(name: &'static str) -> TopLevelKey {
    TopLevelKey {
        name,
        always_scalar: true,
        ty: Some(JsonType::Boolean),
    }
}
/// A scalar whose JSON type is not pinned down (`sessionCredentialFromConsole`: "true" as a
/// string in the records we have, undocumented as to type).
const fn untyped(name: &'static str) -> TopLevelKey {
    TopLevelKey {
        name,
        always_scalar: true,
        ty: None,
    }
}
const fn other(name: &'static str) -> TopLevelKey {
    TopLevelKey {
        name,
        always_scalar: false,
        ty: None,
    }
}

/// The top-level keys of a CloudTrail record, in the reference's order. Keys not marked scalar
/// hold objects or lists, or are not documented well enough to rely on. Every typed scalar is a
/// string or a Boolean in all 310 recorded events (`scripts/cloudtrail-shapes` lists them).
pub const TOP_LEVEL_KEYS: &[TopLevelKey] = &[
    string("eventVersion"),
    other("userIdentity"),
    string("eventTime"),
    string("eventSource"),
    string("eventName"),
    string("awsRegion"),
    string("sourceIPAddress"),
    string("userAgent"),
    string("errorCode"),
    string("errorMessage"),
    other("requestParameters"),
    other("responseElements"),
    other("additionalEventData"),
    string("requestID"),
    string("eventID"),
    boolean("readOnly"),
    other("resources"),
    string("eventType"),
    string("apiVersion"),
    boolean("managementEvent"),
    string("recipientAccountId"),
    other("serviceEventDetails"),
    string("sharedEventID"),
    string("vpcEndpointId"),
    other("vpcEndpointAccountId"),
    string("eventCategory"),
    other("tlsDetails"),
    untyped("sessionCredentialFromConsole"),
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

/// Where a nested scalar path is documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Documented {
    /// By the CloudTrail record reference, for every event (`userIdentity.arn`).
    Record,
    /// By the service's CloudTrail page or API reference, for the events of the APIs that have
    /// it (`requestParameters.userName` of IAM, `additionalEventData.MFAUsed` of a console
    /// sign-in); no API we know of writes a list or an object there.
    Api,
}

/// A nested path that holds one string, number or Boolean, never a list or an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scalar {
    pub path: &'static str,
    pub ty: JsonType,
    pub from: Documented,
}

const fn rec(path: &'static str, ty: JsonType) -> Scalar {
    Scalar {
        path,
        ty,
        from: Documented::Record,
    }
}
const fn api(path: &'static str, ty: JsonType) -> Scalar {
    Scalar {
        path,
        ty,
        from: Documented::Api,
    }
}

use JsonType::{Boolean as B, Number as N, String as S};

/// Nested CloudTrail paths that hold a scalar, with its JSON type: the identity fields of the
/// record reference, and the parameters and results rules test most, each documented as a scalar
/// by its service and seen only as one in the recorded events (`scripts/cloudtrail-shapes`).
/// Left out on purpose: names whose shape depends on the API (`requestParameters.name`, `.key`,
/// `.parameters`: a string for CloudTrail and S3, an object for SSM; `.instanceType` and
/// `.userData`: objects in `ModifyInstanceAttribute`; `responseElements.role`: a string or an
/// object), and everything listed in [`SHAPES`].
pub const NESTED_SCALARS: &[Scalar] = &[
    rec("userIdentity.type", S),
    rec("userIdentity.principalId", S),
    rec("userIdentity.arn", S),
    rec("userIdentity.accountId", S),
    rec("userIdentity.accessKeyId", S),
    rec("userIdentity.userName", S),
    rec("userIdentity.invokedBy", S),
    rec("userIdentity.sessionContext.attributes.creationDate", S),
    // "true" or "false", as a string.
    rec("userIdentity.sessionContext.attributes.mfaAuthenticated", S),
    rec("userIdentity.sessionContext.sessionIssuer.type", S),
    rec("userIdentity.sessionContext.sessionIssuer.principalId", S),
    rec("userIdentity.sessionContext.sessionIssuer.arn", S),
    rec("userIdentity.sessionContext.sessionIssuer.accountId", S),
    rec("userIdentity.sessionContext.sessionIssuer.userName", S),
    // Console sign-in ("Yes"/"No", "Success"/"Failure").
    api("additionalEventData.MFAUsed", S),
    api("additionalEventData.LoginTo", S),
    api("additionalEventData.MobileVersion", S),
    api("additionalEventData.SamlProviderArn", S),
    api("responseElements.ConsoleLogin", S),
    // S3 data events.
    api("additionalEventData.SSEApplied", S),
    api("requestParameters.bucketName", S),
    // IAM
    api("requestParameters.userName", S),
    api("requestParameters.roleName", S),
    api("requestParameters.groupName", S),
    api("requestParameters.policyArn", S),
    api("requestParameters.policyName", S),
    api("requestParameters.policyDocument", S),
    api("requestParameters.assumeRolePolicyDocument", S),
    api("requestParameters.permissionsBoundary", S),
    api("requestParameters.passwordResetRequired", B),
    api("responseElements.accessKey.userName", S),
    api("responseElements.accessKey.accessKeyId", S),
    // STS
    api("requestParameters.roleArn", S),
    api("requestParameters.roleSessionName", S),
    api("requestParameters.durationSeconds", N),
    // EC2
    api("requestParameters.instanceId", S),
    api("requestParameters.snapshotId", S),
    api("requestParameters.imageId", S),
    api("requestParameters.groupId", S),
    api("requestParameters.attribute", S),
    api("requestParameters.attributeType", S),
    api("requestParameters.cidrIp", S),
    api("requestParameters.ipProtocol", S),
    api("requestParameters.fromPort", N),
    api("requestParameters.toPort", N),
    // RDS
    api("requestParameters.dBInstanceIdentifier", S),
    api("requestParameters.dBSnapshotIdentifier", S),
    api("requestParameters.attributeName", S),
    api("requestParameters.publiclyAccessible", B),
    api("responseElements.publiclyAccessible", B),
    api(
        "responseElements.pendingModifiedValues.masterUserPassword",
        S,
    ),
    // Lambda, SSM, Secrets Manager, KMS, CloudTrail, GuardDuty, Bedrock
    api("requestParameters.functionName", S),
    api("requestParameters.documentName", S),
    api("requestParameters.withDecryption", B),
    api("requestParameters.secretId", S),
    api("requestParameters.keyId", S),
    api("requestParameters.pendingWindowInDays", N),
    api("requestParameters.trailName", S),
    api("requestParameters.detectorId", S),
    api("requestParameters.enable", B),
    api("requestParameters.modelId", S),
];

/// Does `path` (its segments) spell `dotted`?
fn spells(dotted: &str, path: &[String]) -> bool {
    dotted.split('.').eq(path.iter().map(String::as_str))
}

/// The documented scalar at `path` (its segments), if it is one: a top-level key or a nested
/// path; its JSON type when the table knows it.
pub fn scalar_at(path: &[String]) -> Option<Option<JsonType>> {
    if let [one] = path {
        return TOP_LEVEL_KEYS
            .iter()
            .find(|k| k.always_scalar && k.name == one)
            .map(|k| k.ty);
    }
    NESTED_SCALARS
        .iter()
        .find(|s| spells(s.path, path))
        .map(|s| Some(s.ty))
}

/// Does `path` (its segments) hold one scalar by the documentation: never a list to range over
/// or an object? The documented-shape reading (the evaluator's and Athena's default) reads such
/// a path as one value.
pub fn documented_scalar(path: &[String]) -> bool {
    scalar_at(path).is_some()
}

/// Does `path` (dotted) hold a scalar in every CloudTrail record, by the record reference: a
/// top-level scalar key or a [`Documented::Record`] path (not the per-API parameters)?
pub fn always_scalar(path: &str) -> bool {
    TOP_LEVEL_KEYS
        .iter()
        .any(|k| k.always_scalar && k.name == path)
        || NESTED_SCALARS
            .iter()
            .any(|s| s.from == Documented::Record && s.path == path)
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
            assert!(!documented_scalar(&path(p)), "{p}");
        }
    }

    #[test]
    fn scalars_have_their_json_type() {
        assert_eq!(
            scalar_at(&path("recipientAccountId")),
            Some(Some(JsonType::String))
        );
        assert_eq!(scalar_at(&path("readOnly")), Some(Some(JsonType::Boolean)));
        assert_eq!(
            scalar_at(&path("managementEvent")),
            Some(Some(JsonType::Boolean))
        );
        assert_eq!(
            scalar_at(&path("eventVersion")),
            Some(Some(JsonType::String))
        );
        // A scalar of no documented type; a top-level container; an unknown key.
        assert_eq!(scalar_at(&path("sessionCredentialFromConsole")), Some(None));
        assert_eq!(scalar_at(&path("resources")), None);
        assert_eq!(scalar_at(&path("notAKey")), None);
        assert_eq!(scalar_at(&path("readOnly")), Some(Some(JsonType::Boolean)));
        assert_eq!(scalar_at(&path("userIdentity")), None);
        assert_eq!(
            scalar_at(&path("readonly")),
            None,
            "the record's spelling only"
        );
        assert_eq!(
            scalar_at(&path(
                "userIdentity.sessionContext.attributes.mfaAuthenticated"
            )),
            Some(Some(JsonType::String))
        );
        assert_eq!(
            scalar_at(&path("requestParameters.fromPort")),
            Some(Some(JsonType::Number))
        );
        assert!(documented_scalar(&path("additionalEventData.MFAUsed")));
        assert!(documented_scalar(&path("responseElements.ConsoleLogin")));
        assert!(documented_scalar(&path("requestParameters.userName")));
        // Keys are compared as written, segment by segment.
        assert!(!documented_scalar(&path("requestParameters.username")));
        assert!(!documented_scalar(&[
            "requestParameters".to_owned(),
            "bucketName.x".to_owned()
        ]));
        assert!(!documented_scalar(&path("requestParameters")));
        // Lists, one-or-list paths and API-dependent names are not scalars.
        for p in [
            "requestParameters.instanceIds",
            "requestParameters.x-amz-acl",
            "requestParameters.AccessControlPolicy.AccessControlList.Grant",
            "requestParameters.name",
            "requestParameters.parameters",
            "requestParameters.instanceType",
            "responseElements.role",
            "requestParameters.groupSet.items",
        ] {
            assert!(!documented_scalar(&path(p)), "{p}");
        }
        // Per-API parameters are not record fields.
        assert!(!always_scalar("additionalEventData.MFAUsed"));
    }

    /// Every nested scalar sits in objects all the way down (no list on its way), each path is
    /// listed once, and each top-level key too.
    #[test]
    fn the_scalar_table_is_consistent() {
        let mut seen = std::collections::BTreeSet::new();
        for s in NESTED_SCALARS {
            assert!(seen.insert(s.path), "{} listed twice", s.path);
            let segs = path(s.path);
            assert!(segs.len() >= 2, "{}", s.path);
            assert!(TOP_LEVEL_KEYS
                .iter()
                .any(|k| k.name == segs[0] && !k.always_scalar));
            for n in 1..segs.len() {
                assert!(
                    matches!(kind(&segs[..n]), None | Some(Kind::Object)),
                    "{} crosses a list at {}",
                    s.path,
                    segs[..n].join(".")
                );
            }
            assert_eq!(kind(&segs), None, "{}", s.path);
        }
        let mut keys = std::collections::BTreeSet::new();
        for k in TOP_LEVEL_KEYS {
            assert!(keys.insert(k.name.to_ascii_lowercase()), "{}", k.name);
            assert!(k.ty.is_none() || k.always_scalar, "{}", k.name);
        }
    }
}
