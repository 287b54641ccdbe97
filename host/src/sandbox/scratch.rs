//! Private scratch directories: one fresh, empty directory per attempt under a root the
//! operator chose, removed when the attempt ends, with its size measured against a cap.

use std::path::{Path, PathBuf};

/// A scratch directory that exists for one attempt; removed on drop.
#[derive(Debug)]
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// Creates a fresh directory under `root` (created if missing).
    pub(crate) fn create(root: &Path) -> std::io::Result<Scratch> {
        std::fs::create_dir_all(root)?;
        let dir = tempfile::Builder::new()
            .prefix("attempt-")
            .tempdir_in(root)?;
        Ok(Scratch { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Bytes held by regular files under `dir` (symlinks are not followed).
pub(crate) fn used_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_measured_and_removed() {
        let root = tempfile::tempdir().unwrap();
        let scratch = Scratch::create(root.path()).unwrap();
        let path = scratch.path().to_owned();
        std::fs::create_dir(path.join("sub")).unwrap();
        std::fs::write(path.join("sub/a"), [0u8; 1000]).unwrap();
        std::fs::write(path.join("b"), [0u8; 24]).unwrap();
        assert_eq!(used_bytes(&path), 1024);
        drop(scratch);
        assert!(!path.exists());
    }
}
