//! How the tool names files in what it prints.

use std::path::Path;

/// `path` relative to the current directory when it lies below it: shorter
/// messages, and copy-pasteable from where the user is.
pub fn shown(path: &Path) -> &Path {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
}
