//! Finding rule files: files as given, directories searched recursively for `*.yml`/`*.yaml`
//! (sorted, so every run sees the same order). Test sidecars (`*.tests.yml`), placeholder files
//! (`placeholders.yml`) and hidden entries are not rules and are skipped.
//!
//! Rule trees come from pull requests, so the walk trusts nothing it finds:
//!
//! - Every directory is searched at most once per run (by device and inode), so symbolic links
//!   back to an enclosing directory, or to one already searched, are skipped with a note instead
//!   of looping.
//! - A symbolic link found in a tree (to a directory or to a rule file) is followed only when it
//!   resolves inside one of the directories given on the command line; otherwise it is skipped
//!   with a note. Real directories are searched before linked ones, so a link to a directory of
//!   the tree never takes its place.
//! - Only regular files are read: a FIFO, socket or device named like a rule is skipped with a
//!   note (given on the command line, it is an error).
//! - A directory that cannot be read is an error for that directory; the walk goes on.
//!
//! Paths given on the command line are the caller's choice and are followed as they are.

use std::collections::{BTreeSet, HashSet};
use std::fs::{FileType, Metadata};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};

/// Is this file name a rule file (as opposed to a sidecar or a config file)?
pub fn is_rule_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    yaml && !name.starts_with('.')
        && !name.ends_with(".tests.yml")
        && !name.ends_with(".tests.yaml")
        && name != "placeholders.yml"
        && name != "placeholders.yaml"
}

/// What searching the given paths found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The rule files: per path given, in order; under a directory, sorted.
    pub files: Vec<PathBuf>,
    /// Paths that do not exist or cannot be read, directories without rule files.
    pub errors: Vec<FileDiagnostic>,
    /// Entries left out on purpose (see the module documentation), in the order met.
    pub skipped: Vec<Skipped>,
}

/// An entry of a rule tree that was not searched or read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// Expand the given paths into rule files. A directory with no rule files is an error for that
/// directory, as is a path that does not exist. (The entries skipped on purpose are in [`walk`].)
pub fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileDiagnostic>) {
    let w = walk(paths);
    (w.files, w.errors)
}

/// Expand the given paths into rule files, reporting what was skipped (see the module
/// documentation for the rules of the walk).
pub fn walk(paths: &[PathBuf]) -> Walk {
    let mut walker = Walker {
        // The boundary symbolic links must stay inside.
        roots: paths
            .iter()
            .filter(|p| p.is_dir())
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect(),
        ..Walker::default()
    };
    // What each path gives, in order: files as they are, directories searched below.
    enum Given {
        File(PathBuf),
        Dir(Tree, Box<Metadata>),
        Nothing,
    }
    let mut given = Vec::new();
    for p in paths {
        let g = match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => Given::Dir(Tree::new(p), Box::new(m)),
            Ok(m) if m.is_file() => Given::File(p.clone()),
            Ok(m) => {
                walker.error(
                    p,
                    format!(
                        "not a regular file ({}); rules are read from regular files, or from \
                         standard input with -",
                        kind_of(&m.file_type())
                    ),
                );
                Given::Nothing
            }
            Err(e) => {
                walker.error(p, format!("cannot read: {e}"));
                Given::Nothing
            }
        };
        given.push(g);
    }
    // Real directories first, every tree (a directory given twice, or inside one given before,
    // is searched once); then the linked directories each tree holds.
    for g in &mut given {
        if let Given::Dir(tree, m) = g {
            match walker.visit(&tree.root, m) {
                Ok(()) => {
                    let root = tree.root.clone();
                    walker.search(&root, tree);
                }
                Err(reason) => {
                    walker.skip(&tree.root, reason);
                    tree.searched = false;
                }
            }
        }
    }
    for g in &mut given {
        if let Given::Dir(tree, _) = g {
            walker.follow_links(tree);
        }
    }
    for g in given {
        match g {
            Given::File(p) => walker.out.files.push(p),
            Given::Dir(mut tree, _) => {
                tree.files.sort();
                if tree.files.is_empty() && tree.searched && !tree.had_error {
                    walker.error(
                        &tree.root,
                        "no rule files (*.yml, *.yaml) in this directory",
                    );
                }
                walker.out.files.extend(tree.files);
            }
            Given::Nothing => {}
        }
    }
    walker.out
}

/// The identity of a directory: device and inode where there are such, else its canonical path.
#[cfg(unix)]
type DirId = (u64, u64);
#[cfg(not(unix))]
type DirId = PathBuf;

#[cfg(unix)]
fn dir_id(_path: &Path, m: &Metadata) -> DirId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dir_id(path: &Path, _m: &Metadata) -> DirId {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What a file that is neither a regular file nor a directory is, for messages.
fn kind_of(t: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    "a special file"
}

/// One directory given on the command line and what was found below it.
struct Tree {
    root: PathBuf,
    files: Vec<PathBuf>,
    /// Symbolic links to directories met so far and not yet followed, by path (so in name
    /// order).
    links: BTreeSet<PathBuf>,
    /// Something below could not be read: "no rule files" would not be known to be true.
    had_error: bool,
    /// False when the directory was already searched as part of another one.
    searched: bool,
}

impl Tree {
    fn new(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            files: Vec::new(),
            links: BTreeSet::new(),
            had_error: false,
            searched: true,
        }
    }
}

/// The state of one run's walk.
#[derive(Default)]
struct Walker {
    /// The canonical paths of the directories given.
    roots: Vec<PathBuf>,
    /// Every directory searched (or about to be).
    visited: HashSet<DirId>,
    out: Walk,
}

impl Walker {
    fn error(&mut self, path: &Path, message: impl Into<String>) {
        self.out
            .errors
            .push(Diagnostic::new(Code::Io, message).at_path(path));
    }

    fn skip(&mut self, path: &Path, reason: impl Into<String>) {
        self.out.skipped.push(Skipped {
            path: path.to_path_buf(),
            reason: reason.into(),
        });
    }

    /// Mark the directory at `path` as searched; the reason to skip it when it already was.
    fn visit(&mut self, path: &Path, m: &Metadata) -> Result<(), String> {
        if self.visited.insert(dir_id(path, m)) {
            return Ok(());
        }
        let (Ok(dir), Some(Ok(parent))) = (
            std::fs::canonicalize(path),
            path.parent().map(std::fs::canonicalize),
        ) else {
            return Err("a directory already searched".to_owned());
        };
        Err(if parent.starts_with(&dir) {
            format!("leads back to an enclosing directory ({})", dir.display())
        } else {
            format!("a directory already searched ({})", dir.display())
        })
    }

    /// The canonical path of the symbolic link at `path` when it resolves inside a given
    /// directory; else the reason it is not followed.
    fn inside_roots(&self, path: &Path) -> Result<PathBuf, String> {
        let target = std::fs::canonicalize(path).map_err(|e| format!("cannot resolve: {e}"))?;
        if self.roots.iter().any(|r| target.starts_with(r)) {
            Ok(target)
        } else {
            Err(format!(
                "symbolic link to {}, outside the directories given",
                target.display()
            ))
        }
    }

    /// Search `start` and the real directories below it (depth first, without recursion),
    /// adding rule files and linked directories to `tree`. `start` is already marked visited.
    fn search(&mut self, start: &Path, tree: &mut Tree) {
        let mut stack = vec![start.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let mut entries: Vec<(PathBuf, FileType)> = Vec::new();
            match std::fs::read_dir(&dir) {
                Ok(rd) => {
                    for entry in rd {
                        match entry.and_then(|e| Ok((e.path(), e.file_type()?))) {
                            Ok(pt) => entries.push(pt),
                            Err(e) => {
                                tree.had_error = true;
                                self.error(&dir, format!("cannot read directory: {e}"));
                            }
                        }
                    }
                }
                Err(e) => {
                    tree.had_error = true;
                    self.error(&dir, format!("cannot read directory: {e}"));
                    continue;
                }
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut subdirs = Vec::new();
            for (p, ft) in entries {
                let hidden = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'));
                if hidden {
                    continue;
                }
                if ft.is_dir() {
                    match std::fs::symlink_metadata(&p) {
                        Ok(m) => match self.visit(&p, &m) {
                            Ok(()) => subdirs.push(p),
                            Err(reason) => self.skip(&p, reason),
                        },
                        Err(e) => {
                            tree.had_error = true;
                            self.error(&p, format!("cannot read directory: {e}"));
                        }
                    }
                } else if ft.is_symlink() {
                    self.link(p, tree);
                } else if ft.is_file() {
                    if is_rule_file(&p) {
                        tree.files.push(p);
                    }
                } else if is_rule_file(&p) {
                    let reason = format!("not a regular file ({})", kind_of(&ft));
                    self.skip(&p, reason);
                }
            }
            // Popped in name order (the files are sorted at the end anyway).
            stack.extend(subdirs.into_iter().rev());
        }
    }

    /// A symbolic link met in a tree: a linked directory is kept for later, a linked rule file
    /// is a rule file when it stays inside the given directories.
    fn link(&mut self, p: PathBuf, tree: &mut Tree) {
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => {
                tree.links.insert(p);
            }
            Ok(m) if is_rule_file(&p) => {
                if !m.is_file() {
                    let reason = format!("symbolic link to {}", kind_of(&m.file_type()));
                    self.skip(&p, reason);
                    return;
                }
                match self.inside_roots(&p) {
                    Ok(_) => tree.files.push(p),
                    Err(reason) => self.skip(&p, reason),
                }
            }
            Ok(_) => {}
            Err(e) if is_rule_file(&p) => {
                tree.had_error = true;
                self.error(&p, format!("cannot read: {e}"));
            }
            // A broken link that would not be a rule anyway.
            Err(_) => {}
        }
    }

    /// Follow the linked directories of `tree` (and those found below them), in name order,
    /// each when it resolves inside the given directories to a directory not searched yet.
    fn follow_links(&mut self, tree: &mut Tree) {
        while let Some(link) = tree.links.pop_first() {
            if let Err(reason) = self.inside_roots(&link) {
                self.skip(&link, reason);
                continue;
            }
            let m = match std::fs::metadata(&link) {
                Ok(m) => m,
                Err(e) => {
                    tree.had_error = true;
                    self.error(&link, format!("cannot read directory: {e}"));
                    continue;
                }
            };
            match self.visit(&link, &m) {
                Ok(()) => self.search(&link, tree),
                Err(reason) => self.skip(&link, reason),
            }
        }
    }
}

/// The sidecar test file of a rule file (`x.yml` → `x.tests.yml`), if it exists: a regular file,
/// or a symbolic link to one in the rule file's own directory.
pub fn tests_sidecar(rule: &Path) -> Option<PathBuf> {
    let stem = rule.file_stem()?.to_str()?;
    let ext = rule.extension()?.to_str()?;
    let p = rule.with_file_name(format!("{stem}.tests.{ext}"));
    let m = std::fs::symlink_metadata(&p).ok()?;
    if m.is_file() {
        return Some(p);
    }
    if !m.file_type().is_symlink() || !std::fs::metadata(&p).ok()?.is_file() {
        return None;
    }
    let target = std::fs::canonicalize(&p).ok()?;
    let dir = std::fs::canonicalize(rule).ok()?.parent()?.to_path_buf();
    target.starts_with(dir).then_some(p)
}
