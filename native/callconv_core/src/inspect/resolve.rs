//! Where the dynamic loader would find each needed library on this machine: the order of
//! glibc's ld.so (`DT_RPATH` when there is no `DT_RUNPATH`, then `LD_LIBRARY_PATH`,
//! `DT_RUNPATH`, the directories of `/etc/ld.so.conf`, then the defaults), with `$ORIGIN`
//! expanded to the library's own directory. Only meaningful when the target is this machine.

use std::path::{Path, PathBuf};

use super::Binary;

/// Most `include` levels followed in `ld.so.conf`.
const MAX_CONF_DEPTH: usize = 4;
/// Most directories taken from `ld.so.conf`.
const MAX_CONF_DIRS: usize = 256;

/// The needed libraries that are found nowhere the loader looks.
pub fn missing<R>(binary: &Binary<R>, library_path: &Path) -> Vec<String> {
    let origin = library_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let expand = |dir: &str| -> PathBuf {
        PathBuf::from(
            dir.replace("${ORIGIN}", &origin.to_string_lossy())
                .replace("$ORIGIN", &origin.to_string_lossy()),
        )
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    if binary.runpath.is_empty() {
        dirs.extend(binary.rpath.iter().map(|d| expand(d)));
    }
    if let Some(env) = std::env::var_os("LD_LIBRARY_PATH") {
        dirs.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.extend(binary.runpath.iter().map(|d| expand(d)));
    dirs.extend(ld_so_conf(Path::new("/etc/ld.so.conf"), 0));
    for default in ["/lib", "/usr/lib", "/lib64", "/usr/lib64"] {
        dirs.push(PathBuf::from(default));
    }
    binary
        .needed
        .iter()
        .filter(|name| {
            if name.contains('/') {
                return !Path::new(name.as_str()).is_file();
            }
            !dirs.iter().any(|d| d.join(name.as_str()).is_file())
        })
        .cloned()
        .collect()
}

/// The directories `/etc/ld.so.conf` lists, following `include` globs.
fn ld_so_conf(path: &Path, depth: usize) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include").map(str::trim) {
            if depth < MAX_CONF_DEPTH {
                for file in glob_conf(pattern, path) {
                    dirs.extend(ld_so_conf(&file, depth + 1));
                }
            }
        } else {
            dirs.push(PathBuf::from(line));
        }
        if dirs.len() >= MAX_CONF_DIRS {
            break;
        }
    }
    dirs
}

/// `dir/*.conf`-style patterns: a directory and a file-name suffix, which is all
/// ld.so.conf files use.
fn glob_conf(pattern: &str, relative_to: &Path) -> Vec<PathBuf> {
    let pattern = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        relative_to.parent().unwrap_or(Path::new("/")).join(pattern)
    };
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return Vec::new();
    };
    let name = name.to_string_lossy();
    let Some(suffix) = name.strip_prefix('*') else {
        return vec![pattern.clone()];
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .take(MAX_CONF_DIRS)
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
