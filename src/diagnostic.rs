//! Diagnostics: what went wrong, where, and under which stable code.
//!
//! The first line of every rendered diagnostic is `path:line:col: error[CODE]: message`, so editors
//! and grep can jump to it. Codes are grouped by stage; the table lives in `docs/errors.md`.

use std::fmt;
use std::path::PathBuf;

use crate::escape::{is_hidden, visible, visible_char};
use crate::source::{LineCol, SourceFile, Span};

/// A stable diagnostic code. The number says which stage found the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Code {
    /// E001: a file or directory could not be read or written.
    Io,
    /// E002: the project configuration (`rulecast.toml`, a pySigma pipeline) is invalid: an
    /// unknown key, a bad value, a path that leaves the project.
    Config,
    /// E101: the file is not UTF-8 text (binary data).
    NotText,
    /// E102: YAML syntax error.
    Yaml,
    /// E103: the YAML is not a rule (wrong shape, a required key missing or of the wrong type).
    NotARule,
    /// E104: the file holds no YAML document at all.
    Empty,
    /// E105: a metadata value is invalid (`level: severe`).
    BadMetadata,
    /// E106: a Panther rule's Python module does not parse.
    PythonSyntax,
    /// E201: the condition does not parse.
    ConditionSyntax,
    /// E202: the condition nests deeper than the bound.
    ConditionDepth,
    /// E203: legacy pipe aggregation in the condition (`| count() > 5`).
    LegacyAggregation,
    /// E301: the condition names a detection that does not exist.
    UnknownIdentifier,
    /// E302: an `x of pattern` selector matches no detection.
    EmptySelector,
    /// E303: an unknown value modifier (`field|contans`).
    UnknownModifier,
    /// E304: modifiers that conflict or are out of place (`field|contains|re`).
    ModifierConflict,
    /// E305: a value of the wrong type for its modifier or position (`gt: 'abc'`).
    BadValue,
    /// E306: an invalid or non-portable regular expression.
    BadRegex,
    /// E307: an invalid CIDR network.
    BadCidr,
    /// E308: an `expand` placeholder with no value.
    MissingPlaceholder,
    /// E309: a detection has an invalid shape (empty, nested lists).
    BadDetection,
    /// E310: a Panther rule construct that no per-event query can express (a cache, an enrichment
    /// lookup, policy parsing, arbitrary code): "not translatable: <construct>".
    NotTranslatable,
    /// E311: a correlation rule with an invalid shape (unknown type, bad timespan, a missing
    /// `field`, a bad condition or alias).
    CorrelationShape,
    /// E312: a correlation or a meta filter names a rule that is not in the run (a correlation:
    /// or names several).
    UnknownRule,
    /// E313: correlations that reference themselves, or chains beyond the limits.
    CorrelationCycle,
    /// E314: the rule's logsource is not AWS CloudTrail and no mapping maps it.
    NotCloudTrail,
    /// E401: the rule uses something the target cannot express.
    Unsupported,
    /// E501: a template failed to render.
    Template,
    /// E601: `scan` cannot read a log file or one of its records (not JSON, not CloudTrail, a
    /// truncated gzip, too large).
    BadLog,
    /// E901: rulecast broke one of its own invariants (a bug to report, never the rule's fault).
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "E001",
            Code::Config => "E002",
            Code::NotText => "E101",
            Code::Yaml => "E102",
            Code::NotARule => "E103",
            Code::Empty => "E104",
            Code::BadMetadata => "E105",
            Code::PythonSyntax => "E106",
            Code::ConditionSyntax => "E201",
            Code::ConditionDepth => "E202",
            Code::LegacyAggregation => "E203",
            Code::UnknownIdentifier => "E301",
            Code::EmptySelector => "E302",
            Code::UnknownModifier => "E303",
            Code::ModifierConflict => "E304",
            Code::BadValue => "E305",
            Code::BadRegex => "E306",
            Code::BadCidr => "E307",
            Code::MissingPlaceholder => "E308",
            Code::BadDetection => "E309",
            Code::NotTranslatable => "E310",
            Code::CorrelationShape => "E311",
            Code::UnknownRule => "E312",
            Code::CorrelationCycle => "E313",
            Code::NotCloudTrail => "E314",
            Code::Unsupported => "E401",
            Code::Template => "E501",
            Code::BadLog => "E601",
            Code::Internal => "E901",
        }
    }

    /// Every code, in order: the docs table and its test iterate this.
    pub const ALL: [Code; 29] = [
        Code::Io,
        Code::Config,
        Code::NotText,
        Code::Yaml,
        Code::NotARule,
        Code::Empty,
        Code::BadMetadata,
        Code::PythonSyntax,
        Code::ConditionSyntax,
        Code::ConditionDepth,
        Code::LegacyAggregation,
        Code::UnknownIdentifier,
        Code::EmptySelector,
        Code::UnknownModifier,
        Code::ModifierConflict,
        Code::BadValue,
        Code::BadRegex,
        Code::BadCidr,
        Code::MissingPlaceholder,
        Code::BadDetection,
        Code::NotTranslatable,
        Code::CorrelationShape,
        Code::UnknownRule,
        Code::CorrelationCycle,
        Code::NotCloudTrail,
        Code::Unsupported,
        Code::Template,
        Code::BadLog,
        Code::Internal,
    ];
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a diagnostic points: a span in a source file, or a resolved line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Span(Span),
    LineCol(LineCol),
}

/// A problem found in one input, before it is tied to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub location: Option<Location>,
    /// Another file the location is in (a Panther rule's `.py` beside its `.yml`), whose text the
    /// caller does not hold: the location must then be a line and column.
    pub file: Option<PathBuf>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            location: None,
            file: None,
        }
    }

    pub fn with_span(mut self, span: Span) -> Self {
        self.location = Some(Location::Span(span));
        self
    }

    pub fn with_line_col(mut self, line: usize, column: usize) -> Self {
        self.location = Some(Location::LineCol(LineCol { line, column }));
        self
    }

    /// Place the diagnostic in another file, at a 1-based line and column.
    pub fn in_other_file(mut self, path: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        self.file = Some(path.into());
        self.with_line_col(line, column)
    }

    /// Point at `span` when there is one.
    pub fn with_span_opt(self, span: Option<Span>) -> Self {
        match span {
            Some(s) => self.with_span(s),
            None => self,
        }
    }

    /// Keep an existing location, else point at `span`.
    pub fn or_span(mut self, span: Span) -> Self {
        if self.location.is_none() {
            self.location = Some(Location::Span(span));
        }
        self
    }

    /// "`feature` is unsupported by `target`" for one rule.
    pub fn unsupported(target: &str, feature: impl fmt::Display) -> Self {
        Diagnostic::new(
            Code::Unsupported,
            format!("{feature} is unsupported by {target}"),
        )
    }

    /// Tie the diagnostic to its file, resolving the span to a line and column.
    pub fn in_file(self, file: &SourceFile) -> FileDiagnostic {
        if let Some(other) = self.file.clone() {
            return self.at_path(other);
        }
        let at = match self.location {
            Some(Location::Span(s)) => file.line_col(s.start),
            Some(Location::LineCol(lc)) => lc,
            None => LineCol { line: 1, column: 1 },
        };
        FileDiagnostic {
            path: file.path.clone(),
            line: at.line,
            column: at.column,
            code: self.code,
            message: self.message,
            source_line: Some(file.line_text(at.line).to_owned()).filter(|l| !l.is_empty()),
        }
    }

    /// Tie the diagnostic to a path whose text is unknown (I/O errors).
    pub fn at_path(self, path: impl Into<PathBuf>) -> FileDiagnostic {
        let at = match self.location {
            Some(Location::LineCol(lc)) => lc,
            _ => LineCol { line: 1, column: 1 },
        };
        FileDiagnostic {
            path: path.into(),
            line: at.line,
            column: at.column,
            code: self.code,
            message: self.message,
            source_line: None,
        }
    }
}

/// A diagnostic with its file, line and column resolved: what users see.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileDiagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub code: Code,
    pub message: String,
    /// The text of the line the diagnostic points at, when the file's text is known.
    pub source_line: Option<String>,
}

/// The first line of a diagnostic: `path:line:col: error[CODE]: message`. The path and the message
/// can hold rule text, so their hidden characters (controls, line breaks, bidirectional and other
/// invisible format characters: [`crate::escape::is_hidden`]) are written visibly (`\u{1b}`,
/// `\n`): a diagnostic is always one line and sends nothing to a terminal but printable text.
impl fmt::Display for FileDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error[{}]: {}",
            visible(&self.path.display().to_string()),
            self.line,
            self.column,
            self.code,
            visible(&self.message)
        )
    }
}

impl FileDiagnostic {
    /// The first line, then (when the line's text is known) the line with a caret under the
    /// column, as shown on a terminal. `color` adds ANSI colors. Rule text (the path, the
    /// message, the source line) is escaped as in the first line: only our own colors reach the
    /// terminal.
    pub fn render(&self, color: bool) -> String {
        let (red, blue, bold, reset) = if color {
            ("\x1b[31m", "\x1b[34m", "\x1b[1m", "\x1b[0m")
        } else {
            ("", "", "", "")
        };
        let mut s = format!(
            "{bold}{}:{}:{}:{reset} {red}{bold}error[{}]{reset}{bold}: {}{reset}",
            visible(&self.path.display().to_string()),
            self.line,
            self.column,
            self.code,
            visible(&self.message)
        );
        if let Some(text) = &self.source_line {
            let num = self.line.to_string();
            let gutter = " ".repeat(num.len());
            // Tabs are kept, hidden characters written visibly; the caret lines up under both.
            let shown_char = |c: char| {
                if c == '\t' || !is_hidden(c) {
                    c.to_string()
                } else {
                    visible_char(c)
                }
            };
            let lead: String = text
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| match c {
                    '\t' => "\t".to_owned(),
                    c => " ".repeat(shown_char(c).chars().count()),
                })
                .collect();
            let shown: String = text.chars().map(shown_char).collect();
            s.push_str(&format!(
                "\n{blue}{gutter} |{reset}\n{blue}{num} |{reset} {shown}\n{blue}{gutter} |{reset} {lead}{red}^{reset}"
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_grouped() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert!(c.as_str().starts_with('E') && c.as_str().len() == 4);
        }
    }

    #[test]
    fn renders_first_line() {
        let file = SourceFile::new("r.yml", "a: 1\nb: 2\n");
        let d = Diagnostic::new(Code::BadValue, "bad").with_span(Span::at(8));
        let fd = d.in_file(&file);
        assert_eq!(fd.to_string(), "r.yml:2:4: error[E305]: bad");
        assert_eq!(
            fd.render(false),
            "r.yml:2:4: error[E305]: bad\n  |\n2 | b: 2\n  |    ^"
        );
        assert!(fd.render(true).contains("\x1b[31m"));
        assert!(!fd.render(false).contains('\x1b'));
    }

    /// Rule text in a diagnostic (its message, its file's name, the source line under it) cannot
    /// drive the terminal or forge another diagnostic line.
    #[test]
    fn hidden_characters_are_shown_escaped() {
        let text = "level: \"\x1b]0;pwned\x07\x1b[2J\u{202e}x\"\r\tz: \x1b[2J\n";
        let file = SourceFile::new("evil\nfake.yml:1:1: error[E000]: forged.yml", text);
        let d = Diagnostic::new(
            Code::BadMetadata,
            "level '\x1b]0;pwned\x07\nfake.yml:1:1: error[E105]: forged\u{202e}' is bad",
        )
        .with_span(Span::at(text.find('z').unwrap_or(0)));
        let fd = d.in_file(&file);
        let line = fd.to_string();
        assert_eq!(
            line,
            "evil\\nfake.yml:1:1: error[E000]: forged.yml:1:28: error[E105]: level \
             '\\u{1b}]0;pwned\\u{7}\\nfake.yml:1:1: error[E105]: forged\\u{202e}' is bad"
        );
        assert_eq!(line.lines().count(), 1);
        let plain = fd.render(false);
        assert!(!plain
            .chars()
            .any(|c| c != '\n' && crate::escape::is_hidden(c) && c != '\t'));
        assert_eq!(plain.lines().count(), 4, "{plain}");
        // The caret stays under the column: the escapes before it are counted at their width.
        let lines: Vec<&str> = plain.lines().collect();
        let src = lines[2].trim_start_matches("1 | ");
        let caret = lines[3].trim_start_matches("  | ");
        let at = caret.chars().count() - 1;
        assert_eq!(src.chars().nth(at), Some('z'), "{plain}");
        // With colors, the only escape sequences are our own.
        let colored = fd.render(true);
        let ours = ["\x1b[31m", "\x1b[34m", "\x1b[1m", "\x1b[0m"];
        let mut rest = colored.clone();
        for o in ours {
            rest = rest.replace(o, "");
        }
        assert!(!rest.contains('\x1b'), "{rest:?}");
    }
}
