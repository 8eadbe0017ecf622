//! Where the dynamic loader would find each needed library, on this machine or under a
//! target root: the order of glibc's ld.so (`DT_RPATH` when there is no `DT_RUNPATH`, then
//! `LD_LIBRARY_PATH` on this machine only, `DT_RUNPATH`, the directories of `ld.so.conf`,
//! then the default directories), with `$ORIGIN` expanded to the library's own directory.
//! A file found with another ELF class, byte order or machine is passed over, as ld.so does.
//!
//! Mach-O install names are followed as dyld follows them: `@loader_path` is the library's
//! directory and `@rpath/` tries each `LC_RPATH` entry; `@executable_path` and the system
//! libraries of `/usr/lib` and `/System` (in the dyld shared cache, not on disk) are left
//! unchecked; under a release, `@executable_path` is its `erts-*/bin` (beam.smp's directory).
//! PE DLLs are looked for as Windows' loader looks for them, under a target root only.
//!
//! Under a sysroot every absolute path (default directories, `ld.so.conf` and its includes,
//! absolute `RPATH`/`RUNPATH` entries, symbolic links with absolute targets) is looked up
//! inside the root, never on this machine, and `..` stops at the root.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use object::read::elf::{ElfFile32, ElfFile64};
use object::{Endianness, FileKind, Object, ReadCache};

use super::{arch_of, elf, libc, Binary};
use crate::platform::{Arch, Endian};

/// Most `include` levels followed in `ld.so.conf`.
const MAX_CONF_DEPTH: usize = 4;
/// Most directories taken from `ld.so.conf`.
const MAX_CONF_DIRS: usize = 256;
/// Most directories searched for one library (its own paths, configuration and defaults).
const MAX_SEARCH_DIRS: usize = 512;
/// Most file-system lookups for one library's needed list; past it, the rest is unchecked.
const MAX_LOOKUPS: usize = 8192;
/// Most symbolic links followed in one lookup under a root (Linux allows 40).
const MAX_SYMLINKS: usize = 40;
/// Most bytes of an `ld.so.conf`-like file read.
const MAX_CONF_BYTES: u64 = 1 << 20;

/// Where needed libraries are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchRoot<'a> {
    /// This machine, as its loader sees it (`LD_LIBRARY_PATH` included).
    Host,
    /// Another machine's file system unpacked in a directory (a Debian or Alpine root, a
    /// container export): everything absolute is looked up under it.
    Sysroot(&'a Path),
    /// An assembled release (`lib/`, `releases/`): what the NIF's own `$ORIGIN` paths find in
    /// it, and the system libraries of this machine (without `LD_LIBRARY_PATH`).
    Release(&'a Path),
}

impl<'a> SearchRoot<'a> {
    /// The root for a directory the user gave: a release when it holds `lib/` and
    /// `releases/` (what `mix release` writes), a sysroot otherwise.
    pub fn for_dir(dir: &'a Path) -> Self {
        if dir.join("lib").is_dir() && dir.join("releases").is_dir() {
            SearchRoot::Release(dir)
        } else {
            SearchRoot::Sysroot(dir)
        }
    }

    /// Where the libraries were looked for, for messages.
    pub fn describe(&self) -> String {
        match self {
            SearchRoot::Host => "where the loader looks on this machine".into(),
            SearchRoot::Sysroot(dir) => format!("under the root {}", dir.display()),
            SearchRoot::Release(dir) => format!(
                "in the release {} (through the library's RUNPATH/RPATH) or in this machine's system directories",
                dir.display()
            ),
        }
    }

    /// Whose file system a resolved path belongs to, for messages.
    pub fn place(&self) -> String {
        match self {
            SearchRoot::Host => "on this machine".into(),
            SearchRoot::Sysroot(dir) => format!("under the root {}", dir.display()),
            SearchRoot::Release(dir) => format!("for the release {}", dir.display()),
        }
    }
}

/// What became of one needed library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Found at this path (on this machine's file system), with the versions it defines
    /// (`None`: it has no version definitions).
    Found {
        /// The file the loader would open.
        path: PathBuf,
        /// Its `VERDEF` names.
        versions: Option<Vec<String>>,
    },
    /// Found nowhere the loader looks.
    Missing,
    /// Not decided: the lookup budget ran out, or (Mach-O) a place the files cannot tell,
    /// such as `@executable_path` or the dyld shared cache.
    Unchecked,
}

/// One needed library and where it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The `DT_NEEDED` name.
    pub name: String,
    /// The outcome.
    pub lookup: Lookup,
}

/// A directory to search, or a file to try: a path on this machine, or an absolute path
/// inside the sysroot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    Host(PathBuf),
    InRoot(PathBuf),
}

/// Resolves every needed library of `binary` (the file at `library_path`) under `root`.
/// ELF and Mach-O; PE (the DLL search order) gives an empty list.
pub fn resolve<R>(binary: &Binary<R>, library_path: &Path, root: SearchRoot) -> Vec<Resolved> {
    let mut budget = MAX_LOOKUPS;
    match binary.platform {
        super::Platform::Unix => {
            let dirs = search_dirs(binary, library_path, root);
            binary
                .needed
                .iter()
                .map(|name| Resolved {
                    name: name.clone(),
                    lookup: first_found(
                        binary,
                        elf_candidates(name, &dirs, root),
                        root,
                        &mut budget,
                    ),
                })
                .collect()
        }
        // ld64.lld records a re-exported library twice (LC_LOAD_DYLIB and
        // LC_REEXPORT_DYLIB): one lookup, one finding.
        super::Platform::Darwin => binary
            .needed
            .iter()
            .enumerate()
            .filter(|(i, name)| !binary.needed[..*i].contains(name))
            .map(|(_, name)| Resolved {
                name: name.clone(),
                lookup: {
                    let (candidates, complete) =
                        darwin_candidates(binary, library_path, name, root);
                    match first_found(binary, candidates, root, &mut budget) {
                        Lookup::Missing if !complete => Lookup::Unchecked,
                        lookup => lookup,
                    }
                },
            })
            .collect(),
        super::Platform::Windows => windows(binary, library_path, root, &mut budget),
    }
}

/// Most entries read from one directory when matching a DLL name without regard to case.
const MAX_DIR_ENTRIES: usize = 1 << 16;

/// The Windows loader's search for each imported DLL (static and delay-loaded), under a
/// target root: the library's own directory (the BEAM loads NIFs with
/// `LOAD_WITH_ALTERED_SEARCH_PATH`), the release's `erts-*/bin` (beam.smp's directory), then
/// the root's system directories (`Windows/System32`, `SysWOW64` for a 32-bit library on a
/// 64-bit root, `Windows`) when it has them. Names match without regard to case. A DLL is
/// `Missing` only when the root has system directories; API sets (`api-ms-*`, `ext-ms-*`)
/// are not files: the UCRT's sets count as found when `ucrtbase.dll` is, the others are
/// unchecked. On this machine nothing is resolved: it is not Windows.
fn windows<R>(
    binary: &Binary<R>,
    library_path: &Path,
    root: SearchRoot,
    budget: &mut usize,
) -> Vec<Resolved> {
    let dir = match root {
        SearchRoot::Host => return Vec::new(),
        SearchRoot::Sysroot(dir) | SearchRoot::Release(dir) => dir,
    };
    let mut dirs: Vec<PathBuf> = library_path
        .parent()
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    if let SearchRoot::Release(release) = root {
        dirs.extend(erts_bins(release));
    }
    let windows_dir = child_ignoring_case(dir, "windows", budget);
    let system32 = windows_dir
        .as_deref()
        .and_then(|w| child_ignoring_case(w, "system32", budget));
    let has_system = system32.is_some();
    let mut system: Vec<PathBuf> = Vec::new();
    if binary.bits == 32 {
        system.extend(
            windows_dir
                .as_deref()
                .and_then(|w| child_ignoring_case(w, "syswow64", budget)),
        );
    }
    system.extend(system32);
    system.extend(windows_dir);
    dirs.extend(system.iter().cloned());
    // Each directory is listed once, its names lowered: Windows matches without regard to case.
    let listings: Vec<std::collections::HashMap<String, PathBuf>> = dirs
        .iter()
        .map(|d| {
            std::fs::read_dir(d)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .take(MAX_DIR_ENTRIES)
                        .map(|e| {
                            (
                                e.file_name().to_string_lossy().to_ascii_lowercase(),
                                e.path(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let delayed = binary.pe.iter().flat_map(|pe| pe.delay_imports.iter());
    let mut names: Vec<&String> = binary.needed.iter().chain(delayed).collect();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()));
    names
        .into_iter()
        .map(|name| {
            let lower = name.to_ascii_lowercase();
            let api_set = lower.starts_with("api-ms-") || lower.starts_with("ext-ms-");
            // Reading a candidate's headers is what the budget counts.
            let found = |file: &str, budget: &mut usize| {
                let file = file.to_ascii_lowercase();
                listings.iter().find_map(|listing| {
                    let path = listing.get(&file)?;
                    if *budget == 0 {
                        return None;
                    }
                    *budget -= 1;
                    read_candidate(path, binary).map(|_| path.clone())
                })
            };
            let lookup = if api_set && !lower.starts_with("api-ms-win-crt-") {
                Lookup::Unchecked
            } else if let Some(path) = found(name, budget).or_else(|| {
                lower
                    .starts_with("api-ms-win-crt-")
                    .then(|| found("ucrtbase.dll", budget))
                    .flatten()
            }) {
                Lookup::Found {
                    path,
                    versions: None,
                }
            } else if *budget == 0 || !has_system {
                Lookup::Unchecked
            } else {
                Lookup::Missing
            };
            Resolved {
                name: name.clone(),
                lookup,
            }
        })
        .collect()
}

/// The `erts-*/bin` directories of a release, sorted.
fn erts_bins(release: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(release)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .take(MAX_CONF_DIRS)
                .filter(|e| e.file_name().to_string_lossy().starts_with("erts-"))
                .map(|e| e.path().join("bin"))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The entry of `dir` named `name` without regard to ASCII case, as Windows matches names.
/// Each call costs one lookup of the budget.
fn child_ignoring_case(dir: &Path, name: &str, budget: &mut usize) -> Option<PathBuf> {
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let exact = dir.join(name);
    if std::fs::symlink_metadata(&exact).is_ok() {
        return Some(exact);
    }
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .take(MAX_DIR_ENTRIES)
        .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
        .map(|e| e.path())
}

/// Where ld.so looks for `name`, in order.
fn elf_candidates(name: &str, dirs: &[Place], root: SearchRoot) -> Vec<Place> {
    // A name with a slash is opened as it is, relative to the working directory or absolute.
    if name.contains('/') {
        let path = PathBuf::from(name);
        return match root {
            SearchRoot::Sysroot(_) if path.is_absolute() => vec![Place::InRoot(path)],
            _ => vec![Place::Host(path)],
        };
    }
    dirs.iter()
        .map(|d| match d {
            Place::Host(p) => Place::Host(p.join(name)),
            Place::InRoot(p) => Place::InRoot(p.join(name)),
        })
        .collect()
}

/// Where dyld looks for the install name `name`: `@loader_path` is the library's directory,
/// `@rpath` each `LC_RPATH` entry in turn. `None` when it cannot be told from the files:
/// `@executable_path` (beam.smp's directory, unknown here) and the system libraries under
/// `/usr/lib` and `/System`, which macOS 11 and later keep only in the dyld shared cache.
/// The flag says whether every place dyld would try is among the candidates.
fn darwin_candidates<R>(
    binary: &Binary<R>,
    library_path: &Path,
    name: &str,
    root: SearchRoot,
) -> (Vec<Place>, bool) {
    let loader = library_path.parent().unwrap_or(Path::new(""));
    // beam.smp's directory: known only for a release, as its erts-*/bin.
    let executable = match root {
        SearchRoot::Release(release) => erts_bins(release).into_iter().next(),
        _ => None,
    };
    let expand = |path: &str| -> Option<Place> {
        if let Some(rest) = path.strip_prefix("@executable_path") {
            return Some(Place::Host(
                executable.as_ref()?.join(rest.trim_start_matches('/')),
            ));
        }
        if let Some(rest) = path.strip_prefix("@loader_path") {
            let host = loader.join(rest.trim_start_matches('/'));
            return Some(match root {
                SearchRoot::Sysroot(root) => match strip_root(root, &host) {
                    Some(inside) => Place::InRoot(inside),
                    None => Place::Host(host),
                },
                _ => Place::Host(host),
            });
        }
        if path.starts_with('/') {
            if path.starts_with("/usr/lib/") || path.starts_with("/System/") {
                return None;
            }
            return Some(match root {
                SearchRoot::Sysroot(_) => Place::InRoot(PathBuf::from(path)),
                _ => Place::Host(PathBuf::from(path)),
            });
        }
        None
    };
    if let Some(rest) = name.strip_prefix("@rpath/") {
        let tried: Vec<Option<Place>> = binary
            .rpath
            .iter()
            .take(MAX_SEARCH_DIRS)
            .map(|entry| expand(&format!("{}/{rest}", entry.trim_end_matches('/'))))
            .collect();
        let complete = tried.iter().all(Option::is_some);
        return (tried.into_iter().flatten().collect(), complete);
    }
    match expand(name) {
        Some(dir) => (vec![dir], true),
        None => (Vec::new(), false),
    }
}

/// The first candidate that exists and is a library the loader would take for `binary`.
fn first_found<R>(
    binary: &Binary<R>,
    candidates: Vec<Place>,
    root: SearchRoot,
    budget: &mut usize,
) -> Lookup {
    for candidate in candidates {
        if *budget == 0 {
            return Lookup::Unchecked;
        }
        *budget -= 1;
        let host_path = match (&candidate, root) {
            (Place::Host(p), _) => p.is_file().then(|| p.clone()),
            (Place::InRoot(p), SearchRoot::Sysroot(root)) => in_root(root, p),
            (Place::InRoot(p), _) => p.is_file().then(|| p.clone()),
        };
        let Some(path) = host_path else { continue };
        if let Some(versions) = read_candidate(&path, binary) {
            return Lookup::Found { path, versions };
        }
    }
    Lookup::Missing
}

/// The search directories in the loader's order, capped.
fn search_dirs<R>(binary: &Binary<R>, library_path: &Path, root: SearchRoot) -> Vec<Place> {
    let origin = library_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let origin_dir = |entry: &str| -> Option<Place> {
        let origin = origin.to_string_lossy();
        let expanded = entry
            .replace("${ORIGIN}", &origin)
            .replace("$ORIGIN", &origin);
        let path = PathBuf::from(&expanded);
        let from_origin = expanded != entry;
        match root {
            SearchRoot::Sysroot(root) if from_origin => Some(
                // The library may itself lie inside the root: then its neighbours are root
                // paths too, and their links must stay inside it.
                match strip_root(root, &path) {
                    Some(inside) => Place::InRoot(inside),
                    None => Place::Host(path),
                },
            ),
            SearchRoot::Sysroot(_) if path.is_absolute() => Some(Place::InRoot(path)),
            // A relative entry is relative to the working directory: nothing to say for
            // another machine.
            SearchRoot::Sysroot(_) => None,
            _ => Some(Place::Host(path)),
        }
    };
    let mut dirs: Vec<Place> = Vec::new();
    if binary.runpath.is_empty() {
        dirs.extend(binary.rpath.iter().filter_map(|d| origin_dir(d)));
    }
    if root == SearchRoot::Host {
        if let Some(env) = std::env::var_os("LD_LIBRARY_PATH") {
            dirs.extend(
                std::env::split_paths(&env)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(Place::Host),
            );
        }
    }
    dirs.extend(binary.runpath.iter().filter_map(|d| origin_dir(d)));
    let system = |p: PathBuf| match root {
        SearchRoot::Sysroot(_) => Place::InRoot(p),
        _ => Place::Host(p),
    };
    let conf_root = match root {
        SearchRoot::Sysroot(r) => Some(r),
        _ => None,
    };
    let musl = libc::flavour(binary) == Some("musl");
    if musl {
        dirs.extend(musl_path(conf_root).into_iter().map(system));
    } else {
        let conf = Path::new("/etc/ld.so.conf");
        dirs.extend(ld_so_conf(conf_root, conf, 0).into_iter().map(system));
        for triple in multiarch(binary.arch, binary.bits, binary.endian) {
            dirs.push(system(Path::new("/lib").join(triple)));
            dirs.push(system(Path::new("/usr/lib").join(triple)));
        }
        let mut defaults = vec!["/lib", "/usr/lib"];
        if binary.bits == 64 {
            defaults.extend(["/lib64", "/usr/lib64"]);
        }
        dirs.extend(defaults.into_iter().map(|d| system(PathBuf::from(d))));
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs.truncate(MAX_SEARCH_DIRS);
    dirs
}

/// The Debian/Ubuntu multiarch directory names for an architecture (glibc's system search
/// path there); those of another byte order or ABI are filtered by the ELF header check.
fn multiarch(arch: Arch, bits: u32, endian: Endian) -> &'static [&'static str] {
    let little = endian == Endian::Little;
    match (arch, bits) {
        (Arch::X86_64, 64) => &["x86_64-linux-gnu"],
        (Arch::X86_64, _) => &["x86_64-linux-gnux32"],
        (Arch::X86, _) => &["i386-linux-gnu"],
        (Arch::Aarch64, _) => &["aarch64-linux-gnu"],
        (Arch::Arm, _) => &["arm-linux-gnueabihf", "arm-linux-gnueabi"],
        (Arch::Riscv64, _) => &["riscv64-linux-gnu"],
        (Arch::Powerpc64, _) if little => &["powerpc64le-linux-gnu"],
        (Arch::Powerpc64, _) => &["powerpc64-linux-gnu"],
        (Arch::Powerpc, _) => &["powerpc-linux-gnu"],
        (Arch::Mips, _) if little => &["mipsel-linux-gnu"],
        (Arch::Mips, _) => &["mips-linux-gnu"],
        (Arch::Mips64, 64) if little => &["mips64el-linux-gnuabi64"],
        (Arch::Mips64, 64) => &["mips64-linux-gnuabi64"],
        (Arch::Mips64, _) if little => &["mips64el-linux-gnuabin32"],
        (Arch::Mips64, _) => &["mips64-linux-gnuabin32"],
        (Arch::S390x, _) => &["s390x-linux-gnu"],
        (Arch::Sparc64, _) => &["sparc64-linux-gnu"],
        (Arch::Loongarch64, _) => &["loongarch64-linux-gnu"],
        _ => &[],
    }
}

/// Whether the file at `path` is a library the loader would take for `binary` (same format,
/// word size, byte order and machine; for a universal Mach-O, a slice of that machine), and if
/// so the versions it defines (ELF `VERDEF`; Mach-O has none).
fn read_candidate<R>(path: &Path, binary: &Binary<R>) -> Option<Option<Vec<String>>> {
    let opened = crate::source::open(path).ok()?;
    let cache = ReadCache::new(opened.file);
    let data = &cache;
    let check = |arch, is_64: bool, little: bool| {
        let (arch, _) = arch_of(arch);
        arch == binary.arch
            && (binary.bits == 64) == is_64
            && (binary.endian == Endian::Little) == little
    };
    match (FileKind::parse(data).ok()?, binary.platform) {
        (FileKind::Elf32, super::Platform::Unix) => {
            let file = ElfFile32::<Endianness, _>::parse(data).ok()?;
            check(file.architecture(), false, file.is_little_endian())
                .then(|| elf::version_definitions(&file, data))
        }
        (FileKind::Elf64, super::Platform::Unix) => {
            let file = ElfFile64::<Endianness, _>::parse(data).ok()?;
            check(file.architecture(), true, file.is_little_endian())
                .then(|| elf::version_definitions(&file, data))
        }
        (
            FileKind::MachO32 | FileKind::MachO64 | FileKind::MachOFat32 | FileKind::MachOFat64,
            super::Platform::Darwin,
        )
        | (FileKind::Pe32 | FileKind::Pe64, super::Platform::Windows) => {
            let found = super::parse(data, binary.arch).ok()?;
            (found.arch == binary.arch && found.bits == binary.bits).then_some(None)
        }
        _ => None,
    }
}

/// `path` (a path on this machine) as an absolute path inside `root`, if it lies under it.
fn strip_root(root: &Path, path: &Path) -> Option<PathBuf> {
    let root = std::fs::canonicalize(root).ok()?;
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&root)
        .ok()
        .map(|rest| Path::new("/").join(rest))
}

/// The regular file that the absolute path `path` names inside `root`, as the kernel would
/// find it after `chroot(root)`: symbolic links are followed (at most [`MAX_SYMLINKS`]), an
/// absolute link target starts again at the root, and `..` never climbs above it.
pub fn in_root(root: &Path, path: &Path) -> Option<PathBuf> {
    walk_in_root(root, path)
        .filter(|host| std::fs::symlink_metadata(host).is_ok_and(|m| m.is_file()))
}

/// The directory that `dir` names inside `root`, resolved as [`in_root`] resolves files.
fn in_root_dir(root: &Path, dir: &Path) -> Option<PathBuf> {
    walk_in_root(root, dir).filter(|host| std::fs::symlink_metadata(host).is_ok_and(|m| m.is_dir()))
}

/// The path on this machine of what `path` names inside `root`, every link resolved.
fn walk_in_root(root: &Path, path: &Path) -> Option<PathBuf> {
    // Components still to walk, last first.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut inside: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            inside.pop();
            continue;
        }
        let mut host = root.to_path_buf();
        host.extend(&inside);
        host.push(&part);
        let meta = std::fs::symlink_metadata(&host).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_SYMLINKS {
                return None;
            }
            let target = std::fs::read_link(&host).ok()?;
            if target.is_absolute() {
                inside.clear();
            }
            push_components(&mut pending, &target);
        } else {
            inside.push(part);
        }
    }
    let mut host = root.to_path_buf();
    host.extend(&inside);
    Some(host)
}

/// Pushes `path`'s components onto `stack` so that the first is popped first.
fn push_components(stack: &mut Vec<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

/// Reads a configuration file on this machine, or inside `root` when given. Bounded.
fn read_conf(root: Option<&Path>, path: &Path) -> Option<String> {
    use std::io::Read;
    let host = match root {
        Some(root) => in_root(root, path)?,
        None => path.to_path_buf(),
    };
    // Regular files only, checked before and after the open: a FIFO would block the read.
    if !std::fs::metadata(&host).ok()?.is_file() {
        return None;
    }
    let file = crate::source::open_nonblocking(&host).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_CONF_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The directories `ld.so.conf` lists, following `include` globs (paths inside `root`).
fn ld_so_conf(root: Option<&Path>, path: &Path, depth: usize) -> Vec<PathBuf> {
    let Some(text) = read_conf(root, path) else {
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
                for file in glob_conf(root, pattern, path) {
                    dirs.extend(ld_so_conf(root, &file, depth + 1));
                }
            }
        } else if line.starts_with('/') {
            dirs.push(PathBuf::from(line));
        }
        if dirs.len() >= MAX_CONF_DIRS {
            dirs.truncate(MAX_CONF_DIRS);
            break;
        }
    }
    dirs
}

/// `dir/*.conf`-style patterns: a directory and a file-name suffix, which is all
/// ld.so.conf files use. Returns paths in the same space as `relative_to` (inside `root`).
fn glob_conf(root: Option<&Path>, pattern: &str, relative_to: &Path) -> Vec<PathBuf> {
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
    let host_dir = match root {
        Some(root) => in_root_dir(root, dir),
        None => Some(dir.to_path_buf()),
    };
    let Some(host_dir) = host_dir else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(host_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .take(MAX_CONF_DIRS)
                .map(|e| dir.join(e.file_name()))
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// musl's search path: `/etc/ld-musl-<arch>.path` (entries separated by newlines or colons),
/// else its built-in default.
fn musl_path(root: Option<&Path>) -> Vec<PathBuf> {
    let etc = match root {
        Some(root) => in_root_dir(root, Path::new("/etc")),
        None => Some(PathBuf::from("/etc")),
    };
    let file = etc.and_then(|etc| {
        std::fs::read_dir(etc)
            .ok()?
            .filter_map(|e| e.ok())
            .take(4096)
            .find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name.starts_with("ld-musl-") && name.ends_with(".path"))
                    .then(|| Path::new("/etc").join(name))
            })
    });
    if let Some(text) = file.and_then(|f| read_conf(root, &f)) {
        return text
            .split(['\n', ':'])
            .map(str::trim)
            .filter(|l| l.starts_with('/'))
            .take(MAX_CONF_DIRS)
            .map(PathBuf::from)
            .collect();
    }
    ["/lib", "/usr/local/lib", "/usr/lib"]
        .into_iter()
        .map(PathBuf::from)
        .collect()
}
