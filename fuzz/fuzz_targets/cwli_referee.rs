//! The CloudWatch Logs Insights referee's parser (and its evaluator on a few events): any text
//! parses to a query or an error, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rulecast::backend::cloudwatch::referee;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(q) = referee::parse(&text) {
        let events = [
            serde_json::json!({"eventName": "ConsoleLogin", "userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}, "sourceIPAddress": "10.1.2.3", "n": 5}),
            serde_json::json!({"requestParameters": {"items": [{"a": 1}, {"a": "x"}], "s": "A*b?"}, "errorCode": null}),
        ];
        for e in &events {
            let _ = q.matches(e);
        }
    }
});
