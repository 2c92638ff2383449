//! Reports for people rather than machines: [`explain`] (one rule as the catalog sees it),
//! [`catalog`] (every rule of a tree, with counts) and [`markdown`] (`convert --format markdown`:
//! each rule's metadata with its queries).

pub mod catalog;
pub mod explain;
pub mod markdown;

/// Escape a table cell for Markdown.
pub fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "\\`")
        .replace(['\n', '\r'], " ")
}
