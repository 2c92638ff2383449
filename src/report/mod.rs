//! Reports for people rather than machines: [`explain`] (one rule as the catalog sees it) and
//! [`catalog`] (every rule of a tree, with counts).

pub mod catalog;
pub mod explain;

/// Escape a table cell for Markdown.
pub fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "\\`")
        .replace(['\n', '\r'], " ")
}
