//! Which CloudTrail paths hold objects and lists ([`SHAPES`], [`kind`], [`SCALARS`]), and the
//! Logs Insights field names a path reaches from the renderer's scope (expanded over list
//! indices where a list is on the way).

use crate::diagnostic::Diagnostic;
use crate::ir::FieldPath;

use super::predicate::Renderer;
use super::quote::field_name;

/// The most field alternatives one predicate may expand to.
const MAX_ALTERNATIVES: usize = 200;

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

/// CloudTrail fields that always hold a string, number or Boolean: never a list to range over.
pub(super) const SCALARS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "readOnly",
    "managementEvent",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "eventCategory",
    "sessionCredentialFromConsole",
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

/// The note of a query that checks only elements `0..n` of `list`.
pub(super) fn list_note(list: &str, n: usize) -> String {
    format!(
        "{list} is a list: only its elements 0 to {} are checked (--array-max {n})",
        n - 1
    )
}

impl Renderer<'_> {
    /// The path from the event root (without element indices) and the Logs Insights name it
    /// starts from: an element's name inside a scope.
    pub(super) fn scope_base(&self) -> (Vec<String>, Option<String>) {
        match self.scope {
            Some(s) => (s.path.segments().to_vec(), Some(s.name.clone())),
            None => (Vec::new(), None),
        }
    }

    /// What CloudTrail holds at `path` (relative to the scope's element), if not a scalar.
    pub(super) fn container(&self, path: &FieldPath) -> Option<Kind> {
        let (mut full, _) = self.scope_base();
        if path.segments().is_empty() && self.scope.is_some() {
            // The element itself.
            return match kind(&full) {
                Some(Kind::List(Elem::Object) | Kind::OneOrList(Elem::Object)) => {
                    Some(Kind::Object)
                }
                _ => None,
            };
        }
        full.extend(path.segments().iter().cloned());
        kind(&full)
    }

    /// Is `path` the scope's element itself, an object by the list's known shape?
    pub(super) fn object_element(&self, path: &FieldPath) -> bool {
        self.scope.is_some() && path.segments().is_empty() && self.container(path).is_some()
    }

    /// Can Python's reading reach `path` (through objects only)? A list known on the way stops it.
    pub(super) fn reachable(&self, path: &FieldPath) -> bool {
        let (mut full, _) = self.scope_base();
        let segs = path.segments();
        for seg in segs.iter().take(segs.len().saturating_sub(1)) {
            full.push(seg.clone());
            if matches!(kind(&full), Some(Kind::List(_))) {
                return false;
            }
        }
        true
    }

    /// The Logs Insights names of the scalars a path reaches. Under Sigma's reading, lists known on
    /// the way (and, when `cross_end`, a list of scalars at the end) expand over indices `0..n`;
    /// under Python's, the path names one field, or none when it cannot reach a scalar.
    pub(super) fn field_names(
        &mut self,
        path: &FieldPath,
        cross_end: bool,
    ) -> Result<Vec<String>, Diagnostic> {
        let segs = path.segments();
        if segs.iter().any(String::is_empty) {
            return Err(Diagnostic::unsupported(
                "cloudwatch",
                format!("the field name '{path}' (an empty segment)"),
            ));
        }
        if self.container(path) == Some(Kind::Object) {
            // Always an object: no field holds it (callers look in @message instead).
            return Ok(Vec::new());
        }
        let (base_path, base_name) = self.scope_base();
        if self.exact {
            if segs.iter().any(|s| s.bytes().all(|b| b.is_ascii_digit())) {
                return Err(Diagnostic::unsupported(
                    "cloudwatch",
                    format!(
                        "the path '{path}' read through objects only: a numeric step names a list \
                         element in Logs Insights"
                    ),
                ));
            }
            // A list of scalars is no field, but where an event holds a scalar instead, its
            // plain name is one.
            let scalar_list = matches!(
                self.container(path),
                Some(Kind::List(Elem::Scalar) | Kind::OneOrList(Elem::Scalar))
            );
            if !self.reachable(path) || (self.container(path).is_some() && !scalar_list) {
                return Ok(Vec::new());
            }
            let name = match base_name {
                Some(b) if segs.is_empty() => b,
                Some(b) => format!("{b}.{}", segs.join(".")),
                // The event itself: an object.
                None if segs.is_empty() => return Ok(Vec::new()),
                None if segs[0].starts_with('@') => format!("@{}", segs.join(".")),
                None => segs.join("."),
            };
            return Ok(vec![field_name(&name)?]);
        }
        let mut out = vec![base_name.clone().unwrap_or_default()];
        let mut shape = base_path;
        for k in 0..segs.len() {
            for name in &mut out {
                if k == 0 && base_name.is_none() {
                    if segs[0].starts_with('@') {
                        // Logs Insights shows a discovered `@key` as `@@key`.
                        name.push('@');
                    }
                } else {
                    name.push('.');
                }
                name.push_str(&segs[k]);
            }
            shape.push(segs[k].clone());
            let last = k + 1 == segs.len();
            let (indexed, keep_plain) = match kind(&shape) {
                Some(Kind::List(e)) => (!last || (cross_end && e == Elem::Scalar), false),
                Some(Kind::OneOrList(e)) => (!last || (cross_end && e == Elem::Scalar), true),
                _ => (false, true),
            };
            if indexed {
                let list = shape.join(".");
                let n = self.array_max;
                self.needs.helpers.insert("lists");
                self.needs.note(list_note(&list, n));
                let mut next = Vec::with_capacity(out.len() * (n + 1));
                for name in &out {
                    if keep_plain {
                        next.push(name.clone());
                    }
                    for i in 0..n {
                        next.push(format!("{name}.{i}"));
                    }
                }
                out = next;
                if out.len() > MAX_ALTERNATIVES {
                    return Err(Diagnostic::unsupported(
                        "cloudwatch",
                        format!(
                            "'{path}' with --array-max {n} ({} field names; lower --array-max)",
                            out.len()
                        ),
                    ));
                }
            }
        }
        out.iter().map(|s| field_name(s)).collect()
    }

    /// A path as notes show it: from the event root, `[]` for the elements of a list.
    pub(super) fn shown_path(&self, path: &FieldPath) -> String {
        let mut segs: Vec<String> = match self.scope {
            Some(s) => vec![format!("{}[]", s.path)],
            None => Vec::new(),
        };
        segs.extend(path.segments().iter().cloned());
        segs.join(".")
    }
}
