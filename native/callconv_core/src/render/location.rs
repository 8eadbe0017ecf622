//! Where a library is, as CI tools want it: relative to the project root when it is inside.

/// `path` relative to `root` when it lies under it (or is already relative), else `None`.
///
/// Both are compared as given; the Elixir side expands them first. A leading `./` is dropped.
pub fn relative(path: &str, root: Option<&str>) -> Option<String> {
    if !path.starts_with('/') && !is_windows_absolute(path) {
        return Some(path.trim_start_matches("./").to_string());
    }
    let root = root?.trim_end_matches('/');
    if root.is_empty() {
        return None;
    }
    path.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
}

/// Where a library copied into a Mix build or a release came from: for
/// `_build/ENV/lib/APP/priv/REST` (or a release's `lib/APP-VSN/priv/REST`) under `root`, the
/// first of `deps/APP/priv/REST`, `apps/APP/priv/REST` (an umbrella) and `priv/REST` for
/// which `exists` (given a path relative to `root`) says yes. `None` when `path` is not such a
/// copy or no source exists; code scanning can place findings only on files of the repository.
pub fn source_path(
    path: &str,
    root: Option<&str>,
    exists: impl Fn(&str) -> bool,
) -> Option<String> {
    let rel = relative(path, root)?;
    let parts: Vec<&str> = rel.split('/').collect();
    // ... lib / APP / priv / REST..., after _build/ENV or a release directory.
    let at = parts
        .windows(3)
        .position(|w| w[0] == "lib" && w[2] == "priv")?;
    let in_build = at >= 2 && parts[at - 2] == "_build";
    let app = if in_build {
        parts[at + 1]
    } else {
        // A release names the directory APP-VSN.
        parts[at + 1]
            .rsplit_once('-')
            .map_or(parts[at + 1], |(app, _)| app)
    };
    let rest = parts.get(at + 3..).filter(|r| !r.is_empty())?.join("/");
    [
        format!("deps/{app}/priv/{rest}"),
        format!("apps/{app}/priv/{rest}"),
        format!("priv/{rest}"),
    ]
    .into_iter()
    .find(|candidate| exists(candidate))
}

fn is_windows_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

/// Percent-encodes a path for use in a URI (RFC 3986): unreserved characters and `/` stay.
pub fn uri_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &byte in path.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A `file://` URI for an absolute path.
pub fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        format!("file://{}", uri_encode(&path))
    } else {
        format!("file:///{}", uri_encode(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative("/p/a/b.so", Some("/p")).as_deref(), Some("a/b.so"));
        assert_eq!(
            relative("/p/a/b.so", Some("/p/")).as_deref(),
            Some("a/b.so")
        );
        assert_eq!(relative("/pq/b.so", Some("/p")), None);
        assert_eq!(relative("/x/b.so", None), None);
        assert_eq!(relative("./a.so", None).as_deref(), Some("a.so"));
        assert_eq!(relative("C:\\x\\a.dll", Some("/p")), None);
    }

    #[test]
    fn build_copies_map_to_their_sources() {
        let only = |want: &'static str| move |p: &str| p == want;
        let built = "/p/_build/dev/lib/my_app/priv/native/libx.so";
        assert_eq!(
            source_path(built, Some("/p"), only("priv/native/libx.so")).as_deref(),
            Some("priv/native/libx.so")
        );
        let dep = "/p/_build/prod/lib/jiffy/priv/jiffy.so";
        assert_eq!(
            source_path(dep, Some("/p"), only("deps/jiffy/priv/jiffy.so")).as_deref(),
            Some("deps/jiffy/priv/jiffy.so")
        );
        let release = "/p/_build/prod/rel/app/lib/jiffy-1.1.1/priv/jiffy.so";
        assert_eq!(
            source_path(release, Some("/p"), only("deps/jiffy/priv/jiffy.so")).as_deref(),
            Some("deps/jiffy/priv/jiffy.so")
        );
        // No source in the repository, or outside the root: left as it is.
        assert_eq!(source_path(built, Some("/p"), |_| false), None);
        assert_eq!(source_path(built, Some("/q"), |_| true), None);
        assert_eq!(source_path("/p/priv/libx.so", Some("/p"), |_| true), None);
    }

    #[test]
    fn uris() {
        assert_eq!(uri_encode("a b/c%.so"), "a%20b/c%25.so");
        assert_eq!(file_uri("/a b/c.so"), "file:///a%20b/c.so");
        assert_eq!(uri_encode("é"), "%C3%A9");
    }
}
