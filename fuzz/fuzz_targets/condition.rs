//! The Sigma condition grammar (`selection and not 1 of filter_*`): any text parses to a
//! condition or a diagnostic, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rulecast::sigma::condition::parse(&text);
});
