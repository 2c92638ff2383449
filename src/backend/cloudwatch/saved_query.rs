//! Saved queries: a rendered query as the JSON `aws logs put-query-definition --cli-input-json`
//! takes.

/// The longest saved-query name PutQueryDefinition accepts.
const MAX_NAME_CHARS: usize = 255;

/// A saved query as `aws logs put-query-definition --cli-input-json` takes it: the rule's title as
/// its name (cut to 255 characters), the query, and the log groups when any are given.
pub fn query_definition(title: &str, query: &str, log_groups: &[String]) -> serde_json::Value {
    let name: String = title.chars().take(MAX_NAME_CHARS).collect();
    let mut def = serde_json::json!({ "name": name, "queryString": query });
    if !log_groups.is_empty() {
        def["logGroupNames"] = serde_json::json!(log_groups);
    }
    def
}
