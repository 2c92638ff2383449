//! `rulecast init` and `rulecast schema`: the starting points a new project needs, printed or
//! written by the binary itself (a user of the binary has no source tree to copy them from).

use std::io::Write;
use std::path::PathBuf;

use super::Status;
use crate::config::{FILE_NAME, STARTER};

// The arguments of `rulecast init`. (A plain comment: clap would make a doc comment help text.)
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The directory to write rulecast.toml into.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Replace an existing rulecast.toml.
    #[arg(long)]
    pub force: bool,
}

// The arguments of `rulecast schema`.
#[derive(clap::Args, Debug)]
pub struct SchemaArgs {
    /// The built-in schema to print: `cloudtrail` or `security-lake`.
    #[arg(default_value = "cloudtrail")]
    pub schema: String,
}

/// `rulecast init`: write a commented starter `rulecast.toml`; an existing one is kept unless
/// `--force`.
pub(super) fn init(
    args: &InitArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let path = args.dir.join(FILE_NAME);
    let shown = crate::escape::visible(&path.display().to_string()).into_owned();
    if !args.force && std::fs::symlink_metadata(&path).is_ok() {
        writeln!(
            err,
            "error: {shown} exists; keep it, or pass --force to replace it"
        )?;
        return Ok(Status::Error);
    }
    if let Err(e) = std::fs::write(&path, STARTER) {
        writeln!(err, "error: cannot write {shown}: {e}")?;
        return Ok(Status::Error);
    }
    writeln!(out, "wrote {shown}")?;
    Ok(Status::Success)
}

/// `rulecast schema`: print a built-in Athena table schema (its DDL column list and field map).
pub(super) fn schema(
    args: &SchemaArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    match crate::backend::athena::schema_text(&args.schema) {
        Ok(text) => {
            write!(out, "{text}")?;
            Ok(Status::Success)
        }
        Err(m) => {
            writeln!(err, "error: {m}")?;
            Ok(Status::Error)
        }
    }
}
